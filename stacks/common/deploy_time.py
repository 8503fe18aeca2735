"""`split_deploy_time`: a settings value split into what synth knows and what CloudFormation fills in.

Functions read their static settings from a settings layer file (stacks/common/settings_layer.py) and only the
deploy-time values (CloudFormation tokens: ids of resources in this or another stack) from their environment,
which Lambda caps at 4 KB. Shared by the Api stack's chat functions and the observability stage's evaluation.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk


def split_deploy_time(value: Any) -> tuple[Any, Any]:
    """(what is known at synth, what CloudFormation fills in) of a JSON value: a string holding a token goes to
    the second, mapping by mapping; a list with a token goes whole. An empty side is None."""
    if isinstance(value, dict):
        static, deployed = {}, {}
        for key, item in value.items():
            known, filled = split_deploy_time(item)
            if known is not None:
                static[key] = known
            if filled is not None:
                deployed[key] = filled
        return (static if static or not deployed else None), (deployed or None)
    if cdk.Token.is_unresolved(json.dumps(value)):
        return None, value
    return value, None

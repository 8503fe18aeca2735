"""`ObjectMap`: a Distributed Map over the S3 objects under a prefix, with results written to S3.

A Distributed Map without a ResultWriter returns every child's output in its state, which fails past
256 KB (a few thousand objects). CDK's `ResultWriterV2` fixes that but grants the state machine
`s3:GetObject`/`s3:PutObject` on the whole results bucket; this map writes the same ResultWriter and
`grant_results` grants those actions on the results prefix only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.common.buckets import SecureBucket
from stacks.common.nag import acknowledge, iam5_resource_finding

RESULT_WRITER_ACTIONS = ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]


class ObjectMap(sfn.DistributedMap):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        items: SecureBucket,
        prefix_path: str,
        results: SecureBucket,
        results_prefix: str,
        item_selector: dict[str, Any],
        max_concurrency: int,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            item_reader=sfn.S3ObjectsItemReader(bucket=items.bucket, prefix=sfn.JsonPath.string_at(prefix_path)),
            item_selector=item_selector,
            max_concurrency=max_concurrency,
            # Standard children: no 5-minute cap on one object's step chain (Express children have one, and
            # a timed-out child fails the map run instead of reaching the Catch); each child is inspectable.
            map_execution_type=sfn.StateMachineType.STANDARD,
            result_path=sfn.JsonPath.DISCARD,
            tolerated_failure_percentage=0,
        )
        self._results = results
        self._results_prefix = results_prefix

    def to_state_json(self, state_machine_query_language: Any = None) -> Mapping[str, Any]:
        state = dict(super().to_state_json(state_machine_query_language))
        state["ResultWriter"] = {
            "Resource": f"arn:{cdk.Aws.PARTITION}:states:::s3:putObject",
            "Parameters": {"Bucket": self._results.bucket_name, "Prefix": self._results_prefix},
        }
        return state

    def grant_results(self, role: iam.IRole) -> iam.Grant:
        """What the ResultWriter needs, on the results prefix only, and the key through S3."""
        resource = self._results.arn_for(self._results_prefix)
        grant = iam.Grant.add_to_principal(grantee=role, actions=RESULT_WRITER_ACTIONS, resource_arns=[resource])
        grant = grant.combine(self._results.grant_read(role, self._results_prefix))  # ListBucket on the prefix
        grant = grant.combine(self._results.grant_write(role, self._results_prefix))  # data keys via S3
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            acknowledge(
                policy.node.default_child,  # type: ignore[arg-type]
                iam5_resource_finding(self, resource),
                "Map result files under one prefix of the reports bucket; Step Functions names them per map run.",
            )
        return grant

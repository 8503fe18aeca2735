#!/usr/bin/env python3
"""Entry point: load config -> one JourneyStage per selected environment -> synth."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from stacks.app_builder import build_app
from stacks.config import ConfigError


def main() -> int:
    app = cdk.App()
    try:
        build_app(app)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Entry point: load config -> one JourneyStage per selected environment -> gated synth.

Exit codes: 0 synthesized, 1 unacknowledged nag findings or a template past a deploy-time limit (nothing
published), 2 configuration error (nothing built). In every failure the previous assembly in the output
folder stays as it was.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aws_cdk as cdk

from stacks.app_builder import build_app
from stacks.config import ConfigError
from stacks.limits import LimitsError
from stacks.synth_gate import NagGateError, gated_synth

# In "process" mode (how the CLI runs an app) aws-cdk-lib prints the validation report and only sets its
# own Node exit code; under pytest it throws instead. Fixing the mode makes the app behave the same
# everywhere and leaves the verdict to the gate (stacks/synth_gate.py).
APP_MODE_CONTEXT = {"@aws-cdk/core:appMode": "process"}


def gated_app(folder: Path) -> cdk.App:
    """An app that synthesizes into ``folder`` and leaves the verdict on its findings to the gate."""
    # auto_synth off: the CLI's CDK_OUTDIR would otherwise make the app synthesize again on exit.
    return cdk.App(outdir=str(folder), auto_synth=False, context=APP_MODE_CONTEXT)


def synthesize(folder: Path) -> None:
    app = gated_app(folder)
    build_app(app)
    app.synth()


def main() -> int:
    outdir = Path(os.environ.get("CDK_OUTDIR", "cdk.out"))
    try:
        gated_synth(synthesize, outdir)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"config error: {line}", file=sys.stderr)
        return 2
    except NagGateError as exc:
        print(f"nag gate: {exc}", file=sys.stderr)
        return 1
    except LimitsError as exc:
        for violation in exc.violations:
            print(f"limits: {violation}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""After-deploy smoke checks of every deployed stage (`make smoke`), only with AWS credentials.

For each stage the last synth built (stack names `<prefix>-<stage>-<Part>` from the assembly in cdk.out),
it reads the stacks' outputs and checks, for the stacks the stage has:

- Foundation, the alarm path: sets the `DeliveryFailedAlarmName` alarm to ALARM, reads the alarm's
  history until CloudWatch reports the SNS action as executed (or failed: the topic or key policy refuses
  it), then sets it back to OK; warns when the topic has no confirmed subscription. Both transitions
  notify the topic, so the on-call address receives an ALARM and an OK email.
- Guardrails: one ApplyGuardrail call on the published version.
- Knowledge: one Retrieve on the knowledge base (an empty result is fine; an error is not: it names
  missing model access or permissions).
- Data: a tiny dataset (two valid records of one source, built from the use case's schema) and its
  `_READY` marker uploaded to the raw bucket, then the execution it starts, polled to SUCCEEDED.

Without credentials (CI) it prints ``smoke: skipped: no AWS credentials (...)`` and exits 0: nothing is
checked and nothing claims it was. Any failed check exits 1. See docs/deploy.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from stacks.config import load_usecase
from stacks.data.settings import DataSettings, FieldSpec, SourceSpec, load_data_settings
from tools.deployment import (
    ClientFactory,
    StackTarget,
    boto3_clients,
    default_region,
    deployed_targets,
)

TOOL = "smoke"
REASON = "make smoke: testing the alarm path"
RETRIEVAL_QUERY = "smoke test: is the knowledge base reachable?"
GUARDRAIL_TEXT = "Smoke test of the guardrail: what plans do you offer?"
# CloudWatch's history summaries of an alarm action (AWS knowledge center, cloudwatch-receive-sns-for-alarm-trigger).
ACTION_SUCCEEDED = "Successfully executed action"
ACTION_FAILED = "Failed to execute action"
# Clock difference between this machine and AWS tolerated when matching history items and executions.
SKEW = timedelta(minutes=2)
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
ORDER = ("Foundation", "Guardrails", "Knowledge", "Data")

Status = Literal["ok", "warning", "failed"]


@dataclass(frozen=True)
class Result:
    stage: str
    check: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{TOOL}: {self.stage}: {self.check}: {self.status}: {self.detail}"


@dataclass
class Clock:
    """Wall clock and sleep, injected so tests run without waiting."""

    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], None] = field(default=time.sleep)


@dataclass(frozen=True)
class Timeouts:
    alarm_seconds: float = 120
    pipeline_seconds: float = 1200
    poll_seconds: float = 10


class SmokeError(Exception):
    """A check cannot run (a stack not deployed, an output missing); the message says which."""


def _error(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise SmokeError(f"stack {stack_name} is not deployed here ({_error(exc)})") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def _output(outputs: Mapping[str, str], key: str, stack: str) -> str:
    if key not in outputs:
        raise SmokeError(f"{stack} has no output {key}: deploy the current version first")
    return outputs[key]


# ------------------------------------------------------------------------------------------------ checks


def check_alarm_path(
    cloudwatch: Any, sns: Any, outputs: Mapping[str, str], *, stage: str, clock: Clock, timeouts: Timeouts
) -> list[Result]:
    """ALARM on the Foundation alarm, its SNS action executed (read back from the alarm history), then OK."""
    alarm = _output(outputs, "DeliveryFailedAlarmName", "Foundation")
    topic = _output(outputs, "AlarmTopicArn", "Foundation")
    results = [_subscription_result(sns, topic, stage)]
    started = clock.now()
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason=REASON)
    try:
        results.append(
            _action_result(cloudwatch, alarm, topic, started=started, stage=stage, clock=clock, timeouts=timeouts)
        )
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason=f"{REASON} (done)")
    return results


def _subscription_result(sns: Any, topic: str, stage: str) -> Result:
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    confirmed = [s for s in subscriptions if s["SubscriptionArn"].startswith("arn:")]
    pending = [s["Endpoint"] for s in subscriptions if not s["SubscriptionArn"].startswith("arn:")]
    if pending:
        return Result(stage, "alarm subscription", "warning", f"not confirmed yet: {', '.join(pending)}")
    if not confirmed:
        return Result(stage, "alarm subscription", "warning", "no subscriber: alarms reach nobody (-c alarm_email=...)")
    endpoints = ", ".join(f"{s['Protocol']}:{s['Endpoint']}" for s in confirmed)
    return Result(stage, "alarm subscription", "ok", f"confirmed: {endpoints}")


def _action_result(
    cloudwatch: Any, alarm: str, topic: str, *, started: datetime, stage: str, clock: Clock, timeouts: Timeouts
) -> Result:
    deadline = started + timedelta(seconds=timeouts.alarm_seconds)
    while True:
        items = cloudwatch.describe_alarm_history(
            AlarmName=alarm, HistoryItemType="Action", StartDate=started - SKEW, ScanBy="TimestampDescending"
        )["AlarmHistoryItems"]
        for item in items:
            summary = item.get("HistorySummary", "")
            if topic not in summary:
                continue
            if summary.startswith(ACTION_SUCCEEDED):
                return Result(
                    stage, "alarm path", "ok", f"{alarm}: {summary}; the ALARM and OK emails are on their way"
                )
            if summary.startswith(ACTION_FAILED):
                return Result(stage, "alarm path", "failed", f"{alarm}: {summary}")
        if clock.now() >= deadline:
            return Result(
                stage,
                "alarm path",
                "failed",
                f"{alarm}: no SNS action in its history {timeouts.alarm_seconds:g} s after ALARM",
            )
        clock.sleep(timeouts.poll_seconds)


def check_guardrail(runtime: Any, outputs: Mapping[str, str], stage: str) -> Result:
    guardrail = _output(outputs, "GuardrailId", "Guardrails")
    version = _output(outputs, "GuardrailVersion", "Guardrails")
    try:
        response = runtime.apply_guardrail(
            guardrailIdentifier=guardrail,
            guardrailVersion=version,
            source="INPUT",
            content=[{"text": {"text": GUARDRAIL_TEXT}}],
        )
    except ClientError as exc:
        return Result(stage, "guardrail", "failed", f"ApplyGuardrail {guardrail} v{version}: {_error(exc)}")
    return Result(stage, "guardrail", "ok", f"ApplyGuardrail {guardrail} v{version}: action {response['action']}")


def check_retrieve(agent_runtime: Any, outputs: Mapping[str, str], stage: str) -> Result:
    knowledge_base = _output(outputs, "KnowledgeBaseId", "Knowledge")
    try:
        response = agent_runtime.retrieve(
            knowledgeBaseId=knowledge_base,
            retrievalQuery={"text": RETRIEVAL_QUERY},
            retrievalConfiguration={"vectorSearchConfiguration": {"numberOfResults": 1}},
        )
    except ClientError as exc:
        hint = ""
        if exc.response.get("Error", {}).get("Code") == "AccessDeniedException":
            hint = " (is the embedding model enabled under Bedrock model access in this region?)"
        return Result(stage, "knowledge base", "failed", f"Retrieve on {knowledge_base}: {_error(exc)}{hint}")
    count = len(response.get("retrievalResults", []))
    return Result(stage, "knowledge base", "ok", f"Retrieve on {knowledge_base}: {count} result(s)")


def check_pipeline(
    s3: Any,
    stepfunctions: Any,
    outputs: Mapping[str, str],
    objects: list[tuple[str, bytes]],
    *,
    stage: str,
    clock: Clock,
    timeouts: Timeouts,
) -> Result:
    """Upload ``objects`` (the marker last), find the execution the marker started, poll it to its end."""
    raw = _output(outputs, "RawBucketName", "Data")
    machine = _output(outputs, "PipelineStateMachineArn", "Data")
    marker = objects[-1][0]
    started = clock.now()
    for key, body in objects:
        s3.put_object(Bucket=raw, Key=key, Body=body)
    deadline = started + timedelta(seconds=timeouts.pipeline_seconds)
    execution: str | None = None
    not_ours: set[str] = set()
    while True:
        if execution is None:
            execution = _find_execution(stepfunctions, machine, marker, started, not_ours)
        if execution is not None:
            described = stepfunctions.describe_execution(executionArn=execution)
            status = described["status"]
            if status == "SUCCEEDED":
                return Result(stage, "data pipeline", "ok", f"{marker}: execution {described['name']} SUCCEEDED")
            if status not in ("RUNNING", "PENDING_REDRIVE"):
                cause = f"{described.get('error', '')} {described.get('cause', '')}".strip()
                return Result(
                    stage, "data pipeline", "failed", f"{marker}: execution {described['name']} {status}: {cause}"
                )
        if clock.now() >= deadline:
            waiting = "no execution started" if execution is None else f"execution {execution} still running"
            return Result(
                stage,
                "data pipeline",
                "failed",
                f"{marker}: {waiting} after {timeouts.pipeline_seconds:g} s (see the TriggerUndelivered alarm and "
                "the execution in the Step Functions console)",
            )
        clock.sleep(timeouts.poll_seconds)


def _find_execution(stepfunctions: Any, machine: str, marker: str, started: datetime, not_ours: set[str]) -> str | None:
    executions = stepfunctions.list_executions(stateMachineArn=machine, maxResults=25)["executions"]
    for item in executions:
        arn = item["executionArn"]
        if arn in not_ours or item["startDate"] < started - SKEW:
            continue
        if marker in stepfunctions.describe_execution(executionArn=arn).get("input", ""):
            return str(arn)
        not_ours.add(arn)
    return None


# ------------------------------------------------------------------------------------------------ dataset


def smoke_source(settings: DataSettings) -> str:
    """The source the smoke dataset uses: one kept out of the knowledge base if there is one (the smoke
    records then never reach retrieval), else the profiled source, else the first."""
    for name, spec in settings.sources.items():
        if spec.knowledge == "none":
            return name
    if settings.profile is not None:
        return settings.profile.source
    return next(iter(settings.sources))


def _value(name: str, spec: FieldSpec, index: int) -> Any:
    if spec.type == "boolean":
        return True
    if spec.type in ("integer", "number"):
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else low + 10
        value = min(low + index, high)
        return int(value) if spec.type == "integer" else float(value)
    if spec.type == "date":
        return f"2024-01-0{index + 1}"
    if spec.type == "datetime":
        return f"2024-01-01T00:00:0{index}+00:00"
    if spec.allowed:
        return spec.allowed[index % len(spec.allowed)]
    text = f"smoke{index + 1}@example.com" if spec.pii == "EMAIL" else f"smoke-{name}-{index + 1}"
    if spec.max_length is not None and len(text) > spec.max_length:
        text = f"s{index + 1}"[: spec.max_length]
    return text


def smoke_records(spec: SourceSpec, count: int = 2) -> list[dict[str, Any]]:
    """``count`` distinct records with every field set to a value the schema accepts."""
    return [
        {name: _value(name, field_spec, index) for name, field_spec in spec.fields.items()} for index in range(count)
    ]


def smoke_objects(settings: DataSettings, dataset: str) -> tuple[str, list[tuple[str, bytes]]]:
    """(source, [(key, body)...]) of a two-record dataset; the `_READY` marker comes last."""
    source = smoke_source(settings)
    spec = settings.sources[source]
    prefix = f"datasets/{dataset}/{source}/"
    objects: list[tuple[str, bytes]]
    if spec.format == "text":
        objects = [(f"{prefix}smoke-{n}.txt", f"Smoke test document {n} of make smoke.\n".encode()) for n in (1, 2)]
    elif spec.format == "jsonl":
        lines = "".join(json.dumps(record) + "\n" for record in smoke_records(spec))
        objects = [(f"{prefix}smoke.jsonl", lines.encode())]
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(spec.fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: str(v).lower() if isinstance(v, bool) else v for k, v in r.items()} for r in smoke_records(spec)
        )
        objects = [(f"{prefix}smoke.csv", buffer.getvalue().encode())]
    return source, [*objects, (f"datasets/{dataset}/_READY", b"")]


def usecase_of(template: Mapping[str, Any]) -> str:
    """The `usecase` tag every resource of the kit carries (the stage tags them)."""
    for resource in template.get("Resources", {}).values():
        tags = resource.get("Properties", {}).get("Tags")
        if isinstance(tags, list):
            for tag in tags:
                if isinstance(tag, dict) and tag.get("Key") == "usecase":
                    return str(tag["Value"])
    raise SmokeError("the Data template carries no usecase tag")


# ------------------------------------------------------------------------------------------------ run


def check_stage(
    stage: str,
    targets: Mapping[str, StackTarget],
    clients: ClientFactory,
    *,
    fallback_region: str,
    clock: Clock,
    timeouts: Timeouts,
) -> Iterator[Result]:
    for part in ORDER:
        target = targets.get(part)
        if target is None:
            continue
        region = target.region or fallback_region

        def client(service: str, region: str = region) -> Any:
            return clients(service, region)

        try:
            outputs = stack_outputs(client("cloudformation"), target.stack_name)
            if part == "Foundation":
                yield from check_alarm_path(
                    client("cloudwatch"), client("sns"), outputs, stage=stage, clock=clock, timeouts=timeouts
                )
            elif part == "Guardrails":
                yield check_guardrail(client("bedrock-runtime"), outputs, stage)
            elif part == "Knowledge":
                yield check_retrieve(client("bedrock-agent-runtime"), outputs, stage)
            else:
                settings = load_data_settings(load_usecase(usecase_of(target.template)))
                dataset = f"smoke-{clock.now():%Y%m%d-%H%M%S}"
                source, objects = smoke_objects(settings, dataset)
                yield Result(stage, "data pipeline", "ok", f"uploading 2 records of {source} to datasets/{dataset}/")
                yield check_pipeline(
                    client("s3"), client("stepfunctions"), outputs, objects, stage=stage, clock=clock, timeouts=timeouts
                )
        except SmokeError as exc:
            yield Result(stage, part, "failed", str(exc))
        except (ClientError, BotoCoreError) as exc:
            detail = _error(exc) if isinstance(exc, ClientError) else str(exc)
            yield Result(stage, part, "failed", detail)


def run(
    cdk_out: Path,
    clients: ClientFactory,
    fallback_region: str,
    *,
    parts: list[str] | None = None,
    clock: Clock | None = None,
    timeouts: Timeouts | None = None,
) -> int:
    targets = deployed_targets(TOOL, cdk_out, clients, fallback_region)
    if isinstance(targets, int):
        return targets
    by_stage: dict[str, dict[str, StackTarget]] = {}
    for target in targets:
        if not parts or target.part in parts:
            by_stage.setdefault(target.stage, {})[target.part] = target
    failed = False
    for stage, stage_targets in by_stage.items():
        results = check_stage(
            stage,
            stage_targets,
            clients,
            fallback_region=fallback_region,
            clock=clock or Clock(),
            timeouts=timeouts or Timeouts(),
        )
        for result in results:
            print(result.line(), file=sys.stderr if result.status == "failed" else sys.stdout, flush=True)
            failed = failed or result.status == "failed"
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="After-deploy smoke checks (needs AWS credentials).")
    parser.add_argument("cdk_out", type=Path)
    parser.add_argument("--stacks", default="", help="space-separated parts, e.g. 'Foundation Data' (default: all)")
    args = parser.parse_args(argv)
    return run(args.cdk_out, boto3_clients(CLIENT_CONFIG), default_region(), parts=args.stacks.split())


if __name__ == "__main__":
    sys.exit(main())

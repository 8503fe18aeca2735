"""`make smoke` (tools/smoke.py): the after-deploy checks' logic, against botocore Stubbers.

Every AWS call is a Stubber response checked against the service's own model; the clock is fake, so the
polling loops run without waiting. The skip path runs the real SDK without credentials (it fails before
sending anything). What these tests cannot show is the behaviour of a real account: docs/deploy.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from pipeline.validation import validate_object

from stacks.config import load_usecase
from stacks.data.settings import load_data_settings
from tools import smoke

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:eu-west-1:111122223333:journey-customer-retention-dev-Foundation-AlarmsTopic-X"
ALARM = "journey-customer-retention-dev-Foundation-AlarmDeliveryFailed-Y"
MACHINE = "arn:aws:states:eu-west-1:111122223333:stateMachine:journey-customer-retention-dev-data-pipeline"
CALLER = {"UserId": "AIDAEXAMPLE", "Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/deployer"}
FOUNDATION = {"DeliveryFailedAlarmName": ALARM, "AlarmTopicArn": TOPIC}
STAGE = "journey-customer-retention-dev"


def fake_clock() -> smoke.Clock:
    now = [T0]

    def sleep(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    return smoke.Clock(now=lambda: now[0], sleep=sleep)


class Stubbed:
    """One stubbed client; `done()` proves every queued response was asked for."""

    def __init__(self, service: str, region: str = "eu-west-1") -> None:
        self.client = boto3.client(service, region_name=region)
        self.stub = Stubber(self.client)
        self.stub.activate()

    def done(self) -> None:
        self.stub.assert_no_pending_responses()


def subscriptions(*arns: str) -> dict[str, Any]:
    return {
        "Subscriptions": [
            {
                "SubscriptionArn": arn,
                "Owner": "111122223333",
                "Protocol": "email",
                "Endpoint": f"oncall{i}@example.com",
                "TopicArn": TOPIC,
            }
            for i, arn in enumerate(arns)
        ]
    }


def history(*summaries: str) -> dict[str, Any]:
    return {
        "AlarmHistoryItems": [
            {
                "AlarmName": ALARM,
                "Timestamp": T0 + timedelta(seconds=5),
                "HistoryItemType": "Action",
                "HistorySummary": s,
            }
            for s in summaries
        ]
    }


def alarm_stubs(
    *history_responses: dict[str, Any], subscribed: tuple[str, ...] = (f"{TOPIC}:sub-1",)
) -> tuple[Stubbed, Stubbed]:
    cloudwatch, sns = Stubbed("cloudwatch"), Stubbed("sns")
    sns.stub.add_response("list_subscriptions_by_topic", subscriptions(*subscribed), {"TopicArn": TOPIC})
    cloudwatch.stub.add_response(
        "set_alarm_state", {}, {"AlarmName": ALARM, "StateValue": "ALARM", "StateReason": smoke.REASON}
    )
    for response in history_responses:
        cloudwatch.stub.add_response(
            "describe_alarm_history",
            response,
            {"AlarmName": ALARM, "HistoryItemType": "Action", "StartDate": ANY, "ScanBy": "TimestampDescending"},
        )
    cloudwatch.stub.add_response(
        "set_alarm_state", {}, {"AlarmName": ALARM, "StateValue": "OK", "StateReason": f"{smoke.REASON} (done)"}
    )
    return cloudwatch, sns


# ------------------------------------------------------------------------------------------ alarm path


def test_alarm_path_passes_when_cloudwatch_reports_the_sns_action_executed():
    """The knowledge center's check (cloudwatch-receive-sns-for-alarm-trigger): the alarm history's Action item
    says whether CloudWatch could publish to the topic; the first poll may come before it."""
    cloudwatch, sns = alarm_stubs(history(), history(f"Successfully executed action {TOPIC}"))
    results = smoke.check_alarm_path(
        cloudwatch.client, sns.client, FOUNDATION, stage=STAGE, clock=fake_clock(), timeouts=smoke.Timeouts()
    )
    assert [(r.check, r.status) for r in results] == [("alarm subscription", "ok"), ("alarm path", "ok")]
    assert "emails are on their way" in results[1].detail
    cloudwatch.done()
    sns.done()


def test_alarm_path_fails_on_a_refused_publish_and_still_resets_the_alarm():
    refused = (
        f'{smoke.ACTION_FAILED} {TOPIC}. Received error: "Resource: arn:aws:cloudwatch:eu-west-1:111122223333:alarm:'
        f'{ALARM} is not authorized to perform: SNS:Publish on resource: {TOPIC}"'
    )
    cloudwatch, sns = alarm_stubs(history(refused))
    results = smoke.check_alarm_path(
        cloudwatch.client, sns.client, FOUNDATION, stage=STAGE, clock=fake_clock(), timeouts=smoke.Timeouts()
    )
    assert results[-1].status == "failed"
    assert "not authorized to perform: SNS:Publish" in results[-1].detail
    cloudwatch.done()  # the OK reset was sent too


def test_alarm_path_fails_when_no_action_shows_up_in_time():
    timeouts = smoke.Timeouts(alarm_seconds=30, poll_seconds=10)
    cloudwatch, sns = alarm_stubs(*[history()] * 4)  # polls at 0, 10, 20 and 30 s
    results = smoke.check_alarm_path(
        cloudwatch.client, sns.client, FOUNDATION, stage=STAGE, clock=fake_clock(), timeouts=timeouts
    )
    assert results[-1] == smoke.Result(
        STAGE, "alarm path", "failed", f"{ALARM}: no SNS action in its history 30 s after ALARM"
    )
    cloudwatch.done()


@pytest.mark.parametrize(
    ("subscribed", "detail"),
    [((), "no subscriber: alarms reach nobody"), (("PendingConfirmation",), "not confirmed yet: oncall0@example.com")],
)
def test_an_unconfirmed_or_missing_subscription_is_a_warning(subscribed, detail):
    cloudwatch, sns = alarm_stubs(history(f"Successfully executed action {TOPIC}"), subscribed=subscribed)
    first, _ = smoke.check_alarm_path(
        cloudwatch.client, sns.client, FOUNDATION, stage=STAGE, clock=fake_clock(), timeouts=smoke.Timeouts()
    )
    assert first.status == "warning"
    assert detail in first.detail


# ------------------------------------------------------------------------------------------ guardrail and retrieve


def test_guardrail_check_applies_the_published_version():
    runtime = Stubbed("bedrock-runtime")
    runtime.stub.add_response(
        "apply_guardrail",
        {
            "usage": {
                "topicPolicyUnits": 1,
                "contentPolicyUnits": 1,
                "wordPolicyUnits": 1,
                "sensitiveInformationPolicyUnits": 1,
                "sensitiveInformationPolicyFreeUnits": 0,
                "contextualGroundingPolicyUnits": 0,
            },
            "action": "NONE",
            "outputs": [],
            "assessments": [],
        },
        {
            "guardrailIdentifier": "gr-1",
            "guardrailVersion": "3",
            "source": "INPUT",
            "content": [{"text": {"text": smoke.GUARDRAIL_TEXT}}],
        },
    )
    result = smoke.check_guardrail(runtime.client, {"GuardrailId": "gr-1", "GuardrailVersion": "3"}, STAGE)
    assert result == smoke.Result(STAGE, "guardrail", "ok", "ApplyGuardrail gr-1 v3: action NONE")
    runtime.done()


def test_retrieve_without_model_access_fails_with_the_hint():
    agent = Stubbed("bedrock-agent-runtime")
    agent.stub.add_client_error(
        "retrieve",
        service_error_code="AccessDeniedException",
        service_message="You don't have access to the model with the specified model ID.",
        http_status_code=403,
        expected_params={
            "knowledgeBaseId": "KB12345678",
            "retrievalQuery": {"text": smoke.RETRIEVAL_QUERY},
            "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 1}},
        },
    )
    result = smoke.check_retrieve(agent.client, {"KnowledgeBaseId": "KB12345678"}, STAGE)
    assert result.status == "failed"
    assert "AccessDeniedException" in result.detail
    assert "Bedrock model access" in result.detail


def test_retrieve_with_no_documents_yet_is_fine():
    agent = Stubbed("bedrock-agent-runtime")
    agent.stub.add_response("retrieve", {"retrievalResults": []})
    assert smoke.check_retrieve(agent.client, {"KnowledgeBaseId": "KB12345678"}, STAGE).status == "ok"


# ------------------------------------------------------------------------------------------ pipeline


def execution(name: str, started: datetime, status: str = "RUNNING", **extra: Any) -> dict[str, Any]:
    return {
        "executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:{name}",
        "stateMachineArn": MACHINE,
        "name": name,
        "status": status,
        "startDate": started,
        **extra,
    }


def pipeline_stubs(objects: list[tuple[str, bytes]], final: dict[str, Any]) -> tuple[Stubbed, Stubbed]:
    s3, sfn = Stubbed("s3"), Stubbed("stepfunctions")
    for key, body in objects:
        s3.stub.add_response("put_object", {}, {"Bucket": "raw-bucket", "Key": key, "Body": body})
    marker = objects[-1][0]
    older = execution("yesterday", T0 - timedelta(days=1), "SUCCEEDED")
    other = execution("other", T0 + timedelta(seconds=2))
    ours = execution("ours", T0 + timedelta(seconds=3))
    sfn.stub.add_response("list_executions", {"executions": []}, {"stateMachineArn": MACHINE, "maxResults": 25})
    sfn.stub.add_response(
        "list_executions", {"executions": [ours, other, older]}, {"stateMachineArn": MACHINE, "maxResults": 25}
    )
    sfn.stub.add_response("describe_execution", {**ours, "input": f'{{"detail":{{"object":{{"key":"{marker}"}}}}}}'})
    sfn.stub.add_response("describe_execution", ours)  # RUNNING
    sfn.stub.add_response("describe_execution", {**ours, **final})
    return s3, sfn


DATA = {"RawBucketName": "raw-bucket", "PipelineStateMachineArn": MACHINE}
OBJECTS = [("datasets/smoke-1/service_events/smoke.jsonl", b'{"a": 1}\n'), ("datasets/smoke-1/_READY", b"")]


def test_pipeline_check_uploads_the_marker_last_and_follows_its_execution_to_success():
    s3, sfn = pipeline_stubs(OBJECTS, {"status": "SUCCEEDED", "stopDate": T0 + timedelta(minutes=3)})
    result = smoke.check_pipeline(
        s3.client, sfn.client, DATA, OBJECTS, stage=STAGE, clock=fake_clock(), timeouts=smoke.Timeouts()
    )
    assert result == smoke.Result(STAGE, "data pipeline", "ok", "datasets/smoke-1/_READY: execution ours SUCCEEDED")
    s3.done()
    sfn.done()


def test_pipeline_check_reports_a_failed_execution_with_its_error():
    final = {"status": "FAILED", "error": "BiasGateFailed", "cause": "Bias profile FAIL", "stopDate": T0}
    s3, sfn = pipeline_stubs(OBJECTS, final)
    result = smoke.check_pipeline(
        s3.client, sfn.client, DATA, OBJECTS, stage=STAGE, clock=fake_clock(), timeouts=smoke.Timeouts()
    )
    assert result.status == "failed"
    assert result.detail.endswith("execution ours FAILED: BiasGateFailed Bias profile FAIL")


def test_pipeline_check_gives_up_when_no_execution_starts():
    s3, sfn = Stubbed("s3"), Stubbed("stepfunctions")
    for key, body in OBJECTS:
        s3.stub.add_response("put_object", {}, {"Bucket": "raw-bucket", "Key": key, "Body": body})
    for _ in range(3):
        sfn.stub.add_response("list_executions", {"executions": []})
    timeouts = smoke.Timeouts(pipeline_seconds=20, poll_seconds=10)
    result = smoke.check_pipeline(
        s3.client, sfn.client, DATA, OBJECTS, stage=STAGE, clock=fake_clock(), timeouts=timeouts
    )
    assert result.status == "failed"
    assert "no execution started after 20 s" in result.detail
    sfn.done()


@pytest.mark.parametrize("usecase", ["customer-retention", "it-helpdesk"])
def test_smoke_dataset_is_two_valid_records_the_pipeline_accepts(usecase):
    """The records are built from the use case's schema; the pipeline's own validation accepts both."""
    settings = load_data_settings(load_usecase(usecase))
    source, objects = smoke.smoke_objects(settings, "smoke-x")
    assert objects[-1] == ("datasets/smoke-x/_READY", b"")
    spec = settings.sources[source]
    runtime = settings.contract()
    records = []
    for key, body in objects[:-1]:
        assert key.startswith(f"datasets/smoke-x/{source}/")
        result = validate_object(body.decode(), runtime.sources[source], runtime.limits)
        assert result.rejects == [], result.rejects
        records += result.valid
    assert len(records) == 2
    if spec.knowledge != "none":
        assert all(s.knowledge != "none" for s in settings.sources.values())  # none was available


def test_smoke_source_prefers_one_kept_out_of_the_knowledge_base():
    settings = load_data_settings(load_usecase("customer-retention"))
    assert smoke.smoke_source(settings) == "service_events"  # knowledge: none in data.yaml


# ------------------------------------------------------------------------------------------ the whole run


def test_without_credentials_it_says_it_skipped_and_exits_0(synth, monkeypatch, capsys):
    """CI has no credentials: the real SDK fails before sending anything; nothing is checked or faked."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert smoke.main([str(synth.outdir)]) == 0
    assert capsys.readouterr().out == "smoke: skipped: no AWS credentials (Unable to locate credentials)\n"


class Factory:
    def __init__(self, clients: dict[tuple[str, str], Stubbed]) -> None:
        self.clients = clients

    def __call__(self, service: str, region: str | None) -> Any:
        assert region is not None
        return self.clients[service, region].client

    def done(self) -> None:
        for stubbed in self.clients.values():
            stubbed.done()


def test_run_reads_stack_names_from_the_assembly_and_checks_each_stage(synth, capsys):
    """`--stacks Guardrails`: the guardrail of both synthesized stages, read from their stacks' outputs; a stage
    whose stack is not deployed fails with the reason."""
    sts, cloudformation, runtime = Stubbed("sts"), Stubbed("cloudformation"), Stubbed("bedrock-runtime")
    sts.stub.add_response("get_caller_identity", CALLER)
    outputs = [
        {"OutputKey": "GuardrailId", "OutputValue": "gr-dev"},
        {"OutputKey": "GuardrailVersion", "OutputValue": "1"},
    ]
    cloudformation.stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": f"{STAGE}-Guardrails",
                    "CreationTime": T0,
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": outputs,
                }
            ]
        },
        {"StackName": f"{STAGE}-Guardrails"},
    )
    cloudformation.stub.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id journey-customer-retention-prod-Guardrails does not exist",
        expected_params={"StackName": "journey-customer-retention-prod-Guardrails"},
    )
    runtime.stub.add_response(
        "apply_guardrail",
        {
            "usage": {
                "topicPolicyUnits": 1,
                "contentPolicyUnits": 1,
                "wordPolicyUnits": 1,
                "sensitiveInformationPolicyUnits": 1,
                "sensitiveInformationPolicyFreeUnits": 0,
                "contextualGroundingPolicyUnits": 0,
            },
            "action": "NONE",
            "outputs": [],
            "assessments": [],
        },
    )
    factory = Factory(
        {
            ("sts", "eu-west-1"): sts,
            ("cloudformation", "eu-west-1"): cloudformation,
            ("bedrock-runtime", "eu-west-1"): runtime,
        }
    )
    assert smoke.run(synth.outdir, factory, "eu-west-1", parts=["Guardrails"], clock=fake_clock()) == 1
    captured = capsys.readouterr()
    assert f"smoke: {STAGE}: guardrail: ok: ApplyGuardrail gr-dev v1: action NONE" in captured.out
    prod = "journey-customer-retention-prod"
    assert (
        f"smoke: {prod}: Guardrails: failed: stack {prod}-Guardrails is not deployed here "
        f"(ValidationError: Stack with id {prod}-Guardrails does not exist)"
    ) in captured.err
    factory.done()


def test_the_usecase_comes_from_the_tags_of_the_data_stack(synth):
    assert smoke.usecase_of(synth.templates[f"{STAGE}-Data"]) == "customer-retention"

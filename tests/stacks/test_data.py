"""The Data stack, synthesized standalone with the Foundation and all four nag packs (once per session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from common.settings_file import SETTINGS_DIR_ENV, deployed_settings
from pipeline.contract import FUNCTION_SECTIONS, PipelineSettings

from stacks.config import MAX_SOURCE_NAME, USECASES_DIR, ConfigError, load_usecase
from stacks.data.functions import construct_name
from stacks.data.settings import MAX_FIELDS_PER_SOURCE, MAX_LEDGER_COUNTERS, load_data_settings
from tests.lambdas.pipeline.harness import data_settings, settings_layer_id, synth_data_stack
from tools.iam_check import check, load_allowlist


@pytest.fixture(scope="module")
def synth():
    return synth_data_stack()


@pytest.fixture(scope="module")
def data(synth) -> dict[str, Any]:
    return synth.data


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def render(value: Any) -> str:
    """An intrinsic as readable text: <Logical> for Ref/GetAtt Arn, joins concatenated."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref'].removeprefix('AWS::')}>"
    if "Fn::GetAtt" in value:
        return f"<{value['Fn::GetAtt'][0]}>"
    if "Fn::Join" in value:
        return value["Fn::Join"][0].join(render(p) for p in value["Fn::Join"][1])
    if "Fn::GetStackOutput" in value or "Fn::ImportValue" in value:
        return "<FoundationKey>"
    return json.dumps(value)


def logical(data: dict[str, Any], prefix: str, kind: str) -> str:
    (name,) = [k for k in of_type(data, kind) if k.startswith(prefix)]
    return name


def grants(data: dict[str, Any], step: str) -> set[tuple[str, str]]:
    """(action, resource) of the function's role, KMS as (action, via service); logging/tracing left out."""
    role = logical(data, f"{construct_name(step)}FunctionRole", "AWS::IAM::Role")
    found: set[tuple[str, str]] = set()
    for policy in of_type(data, "AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                if action.startswith(("logs:", "xray:")):
                    continue
                if action.startswith("kms:") and LAMBDA_ENVIRONMENT in statement["Condition"].get("StringLike", {}):
                    found.add((action, "key for its environment"))
                    continue
                if action.startswith("kms:"):
                    via = render(statement["Condition"]["StringEquals"]["kms:ViaService"]).split(".")[0]
                    found.add((action, f"key via {via}"))
                    continue
                for resource in resources:
                    condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
                    found.add((action, render(resource) + (f" prefix {condition[0]}" if condition else "")))
    return found


LAMBDA_ENVIRONMENT = "kms:EncryptionContext:aws:lambda:FunctionArn"


def buckets(data: dict[str, Any]) -> dict[str, str]:
    return {
        name: logical(data, f"{name}Bucket", "AWS::S3::Bucket") for name in ("Raw", "Curated", "Quarantine", "Reports")
    }


def test_synth_with_every_nag_pack_reports_zero_findings(synth):
    report = json.loads((Path(synth.outdir) / "validation-report.json").read_text())
    assert {r["pluginName"] for r in report["pluginReports"]} >= {"AwsSolutions", "NIST.800.53.R5", "HIPAA.Security"}
    assert {r["pluginName"]: len(r["violations"]) for r in report["pluginReports"]} == {
        r["pluginName"]: 0 for r in report["pluginReports"]
    }


def test_every_permission_passes_the_offline_iam_check(synth):
    assert check(synth.templates, load_allowlist()) == []


def test_each_step_role_holds_exactly_what_the_step_touches(data):
    b = buckets(data)
    raw, curated, quarantine, reports = (f"<{b[n]}>" for n in ("Raw", "Curated", "Quarantine", "Reports"))
    ledger = f"<{logical(data, 'RunLedger', 'AWS::DynamoDB::Table')}>"
    claims = f"<{logical(data, 'DuplicateClaims', 'AWS::DynamoDB::Table')}>"
    salt = f"<{logical(data, 'HashSalt', 'AWS::SecretsManager::Secret')}>"
    s3_read = {("kms:Decrypt", "key via s3")}
    s3_write = {("kms:Decrypt", "key via s3"), ("kms:GenerateDataKey", "key via s3")}
    table = {("kms:Decrypt", "key via dynamodb"), ("kms:GenerateDataKey", "key via dynamodb")}
    expected = {
        "start": {("dynamodb:PutItem", ledger)} | table,
        "validate": {
            ("s3:GetObject", f"{raw}/datasets/*"),
            ("s3:ListBucket", f"{raw} prefix datasets/*"),
            ("s3:PutObject", f"{raw}/staging/*/valid/*"),
            ("s3:PutObject", f"{quarantine}/datasets/*"),
            ("dynamodb:BatchGetItem", claims),
            ("dynamodb:PutItem", claims),
        }
        | s3_write
        | table,
        "redact": {
            ("s3:GetObject", f"{raw}/staging/*/valid/*"),
            ("s3:ListBucket", f"{raw} prefix staging/*/valid/*"),
            ("s3:PutObject", f"{raw}/staging/*/redacted/*"),
            ("s3:PutObject", f"{quarantine}/datasets/*"),
            ("comprehend:DetectPiiEntities", "*"),
            ("secretsmanager:GetSecretValue", salt),
            ("kms:Decrypt", "key via secretsmanager"),
        }
        | s3_write,
        "profile": {
            ("s3:GetObject", f"{raw}/staging/*/redacted/*"),
            ("s3:ListBucket", f"{raw} prefix staging/*/redacted/*"),
            ("dynamodb:PutItem", ledger),
            ("dynamodb:UpdateItem", ledger),
        }
        | s3_read
        | table,
        "assess": {("dynamodb:GetItem", ledger)} | table,
        "publish": {
            ("s3:GetObject", f"{raw}/staging/*/redacted/*"),
            ("s3:ListBucket", f"{raw} prefix staging/*/redacted/*"),
            ("s3:PutObject", f"{curated}/records/*"),
            ("s3:PutObject", f"{curated}/documents/*"),
            ("dynamodb:GetItem", ledger),
            ("dynamodb:PutItem", ledger),
            ("dynamodb:UpdateItem", ledger),
        }
        | s3_write
        | table,
        "quarantine": {
            ("s3:GetObject", f"{raw}/datasets/*"),
            ("s3:ListBucket", f"{raw} prefix datasets/*"),
            ("s3:GetObject", f"{raw}/staging/*/redacted/*"),
            ("s3:ListBucket", f"{raw} prefix staging/*/redacted/*"),
            ("s3:PutObject", f"{quarantine}/datasets/*"),
            ("s3:DeleteObject", f"{quarantine}/datasets/*"),
            ("s3:DeleteObject", f"{curated}/records/*"),
            ("s3:DeleteObject", f"{curated}/documents/*"),
            ("dynamodb:GetItem", ledger),
            ("dynamodb:PutItem", ledger),
            ("dynamodb:UpdateItem", ledger),
        }
        | s3_write
        | table,
        "finalize": {("s3:PutObject", f"{reports}/reports/*"), ("dynamodb:GetItem", ledger)} | s3_write | table,
    }
    for granted in expected.values():  # Lambda decrypts each environment with the function's role
        granted.add(("kms:Decrypt", "key for its environment"))
    assert {step: grants(data, step) for step in expected} == expected


def test_only_the_publish_role_may_write_curated(data):
    policy = of_type(data, "AWS::S3::BucketPolicy")[logical(data, "CuratedBucketPolicy", "AWS::S3::BucketPolicy")]
    (deny,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "OnlyThePublishStepWritesCurated"
    ]
    assert (deny["Effect"], deny["Action"], deny["Principal"]) == ("Deny", "s3:PutObject", {"AWS": "*"})
    publish_role = logical(data, "PublishFunctionRole", "AWS::IAM::Role")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [publish_role, "Arn"]}}}
    # Every key, records/ and documents/ alike (publish's own grant names exactly those two prefixes).
    assert render(deny["Resource"]) == f"<{buckets(data)['Curated']}>/*"


def test_every_store_is_encrypted_with_the_foundation_key(data):
    for name, bucket in of_type(data, "AWS::S3::Bucket").items():
        if name.startswith("CustomS3"):
            continue
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", name
        assert render(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) == "<FoundationKey>", name
    for name, table in of_type(data, "AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS", name
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name
    (secret,) = of_type(data, "AWS::SecretsManager::Secret").values()
    assert render(secret["Properties"]["KmsKeyId"]) == "<FoundationKey>"
    for name, queue in of_type(data, "AWS::SQS::Queue").items():
        assert render(queue["Properties"]["KmsMasterKeyId"]) == "<FoundationKey>", name
    for name, group in of_type(data, "AWS::Logs::LogGroup").items():
        assert render(group["Properties"]["KmsKeyId"]) == "<FoundationKey>", name


def test_reads_and_writes_on_raw_and_curated_go_to_an_encrypted_validated_trail(synth, data):
    (trail,) = of_type(data, "AWS::CloudTrail::Trail").values()
    props = trail["Properties"]
    b = buckets(data)
    (selector,) = props["EventSelectors"]
    assert selector["ReadWriteType"] == "All"
    assert [render(v) for v in selector["DataResources"][0]["Values"]] == [f"<{b['Raw']}>/", f"<{b['Curated']}>/"]
    assert props["EnableLogFileValidation"]
    assert render(props["KMSKeyId"]) == "<FoundationKey>"
    (key,) = of_type(synth.templates["Foundation"], "AWS::KMS::Key").values()
    cloudtrail = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudtrail.amazonaws.com"}
    ]
    # Decrypt: the trail bucket has an S3 Bucket Key (CloudTrail's KMS guide; tests/stacks/test_deploy_traps.py).
    assert sorted(s["Action"] for s in cloudtrail) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert all(
        render(s["Condition"]["StringEquals"]["aws:SourceArn"]).endswith(":trail/journey-dev-data-audit")
        for s in cloudtrail
    )


def test_the_ready_marker_starts_the_state_machine_without_a_notification_custom_resource(data):
    (rule,) = of_type(data, "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    raw = buckets(data)["Raw"]
    assert pattern["detail"] == {
        "bucket": {"name": [{"Ref": raw}]},
        "object": {"key": [{"wildcard": "datasets/*/_READY"}]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert render(target["Arn"]) == f"<{logical(data, 'Pipeline', 'AWS::StepFunctions::StateMachine')}>"
    assert "DeadLetterConfig" in target
    bucket = of_type(data, "AWS::S3::Bucket")[raw]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    assert not of_type(data, "Custom::S3BucketNotifications")


def definition(data: dict[str, Any]) -> dict[str, Any]:
    (machine,) = of_type(data, "AWS::StepFunctions::StateMachine").values()
    return json.loads(render(machine["Properties"]["DefinitionString"]))


def tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        if state["Type"] == "Map":
            found |= tasks(state["ItemProcessor"]["States"])
    return found


def test_every_task_retries_throttling_with_backoff_and_jitter(data):
    for name, state in tasks(definition(data)["States"]).items():
        (retry,) = state["Retry"]
        assert retry["JitterStrategy"] == "FULL", name
        assert retry["BackoffRate"] == 2, name
        assert "MaxDelaySeconds" in retry, name
        if state["Resource"].startswith("<"):  # Lambda tasks
            assert {"Throttled", "Lambda.TooManyRequestsException"} <= set(retry["ErrorEquals"]), name


def test_objects_fan_out_on_distributed_maps_and_failures_route_to_quarantine(data):
    states = definition(data)["States"]
    reports = buckets(data)["Reports"]
    for map_name, prefix in (("ProcessObjects", "$.run.prefix"), ("PublishObjects", "$.run.redacted_prefix")):
        state = states[map_name]
        assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        assert state["MaxConcurrency"] == data_settings().map_concurrency
        assert state["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
        assert state["ItemReader"]["Parameters"]["Prefix.$"] == prefix
        assert state["ResultWriter"]["Parameters"] == {"Bucket": f"<{reports}>", "Prefix": "map-runs/"}
        assert state["ResultPath"] is None  # per-object counts live in the run ledger, not the state
        for name, task in state["ItemProcessor"]["States"].items():
            if task["Type"] == "Choice":  # RouteBySize routes and cannot fail (tests/stacks/test_data_fanout.py)
                continue
            if name.startswith("Quarantine"):
                assert "Catch" not in task
            else:
                (catch,) = task["Catch"]
                assert (catch["ErrorEquals"], catch["Next"][:10]) == (["States.ALL"], "Quarantine")
    assert states["BiasGate"]["Choices"][0] == {
        "Variable": "$.assessment.status",
        "StringEquals": "FAIL",
        "Next": "FinalizeHeldBack",
    }
    announce = states["AnnounceDatasetPublished"]["Parameters"]["Entries"][0]
    assert (announce["DetailType"], announce["Source"]) == ("DatasetPublished", "journey-dev.data")


def test_the_distributed_map_may_start_only_its_own_children(data):
    (policy,) = [
        p for k, p in of_type(data, "AWS::IAM::Policy").items() if k.startswith("PipelineDistributedMapPolicy")
    ]
    statements = {
        json.dumps(s["Action"]): render(s["Resource"]) for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    machine = logical(data, "Pipeline", "AWS::StepFunctions::StateMachine")
    assert statements['"states:StartExecution"'] == f"<{machine}>"
    assert ":execution:" in statements['["states:DescribeExecution", "states:StopExecution"]']


def test_alarms_cover_failed_runs_quarantine_rate_and_bias_fail(data):
    alarms = {k: v["Properties"] for k, v in of_type(data, "AWS::CloudWatch::Alarm").items()}
    by_metric = {a.get("MetricName"): a for a in alarms.values()}
    assert by_metric["ExecutionsFailed"]["Threshold"] == 1
    assert by_metric["QuarantineRate"]["Threshold"] == 100 * data_settings().monitoring.quarantine_rate_alarm
    assert by_metric["QuarantineRate"]["Dimensions"] == [{"Name": "service", "Value": "data-finalize"}]
    assert (by_metric["BiasStatus"]["Threshold"], by_metric["BiasStatus"]["ComparisonOperator"]) == (
        2,
        "GreaterThanOrEqualToThreshold",
    )
    assert all(a["AlarmActions"] and a["OKActions"] for a in alarms.values())


def test_each_function_gets_exactly_its_settings_sections_from_the_layer_and_they_parse(synth, data, monkeypatch):
    """The settings travel in the stack's settings layer; the environment names the file and pins its digest.

    Each synthesized file validates against the contract the function parses (lambdas/pipeline/contract.py)
    and holds exactly the function's sections of what the stack built from data.yaml."""
    full = data_settings()
    functions = of_type(data, "AWS::Lambda::Function")
    layer = settings_layer_id(data)
    folder = synth.settings_folder
    monkeypatch.setenv(SETTINGS_DIR_ENV, str(folder))
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{step}.json" for step in FUNCTION_SECTIONS)
    for step, sections in FUNCTION_SECTIONS.items():
        props = functions[logical(data, f"{step.capitalize()}Function", "AWS::Lambda::Function")]["Properties"]
        variables = props["Environment"]["Variables"]
        assert variables["KIT_SETTINGS_FILE"] == f"{step}.json"
        assert {"Ref": layer} in props["Layers"], step
        parsed = deployed_settings(PipelineSettings, variables)  # the runtime's reader, on the synthesized layer
        assert parsed.given == frozenset(sections), step
        assert parsed == full.contract().only(sections), step
        if "sources" in sections:  # data.yaml's order (CSV columns) survives the trip
            assert list(parsed.sources) == list(full.sources)
            assert parsed.sources["purchases"].field_names == tuple(full.sources["purchases"].fields)
    start = functions[logical(data, "StartFunction", "AWS::Lambda::Function")]["Properties"]
    assert "KIT_SETTINGS_FILE" not in start["Environment"]["Variables"]  # start reads no settings
    assert {"Ref": layer} not in start["Layers"]


def test_the_settings_layer_matches_the_functions_runtime_and_architecture(data):
    layer = data["Resources"][settings_layer_id(data)]["Properties"]
    functions = of_type(data, "AWS::Lambda::Function").values()
    kit = [f["Properties"] for f in functions if f["Properties"].get("Handler", "").startswith("pipeline.")]
    assert {f["Runtime"] for f in kit} == set(layer["CompatibleRuntimes"]) == {"python3.13"}
    assert {a for f in kit for a in f["Architectures"]} == set(layer["CompatibleArchitectures"]) == {"arm64"}


def write_usecase(tmp_path: Path, data_yaml: dict[str, Any]) -> Path:
    root = tmp_path / "usecases"
    (root / "customer-retention").mkdir(parents=True)
    source = USECASES_DIR / "customer-retention"
    (root / "customer-retention" / "usecase.yaml").write_text((source / "usecase.yaml").read_text())
    (root / "customer-retention" / "data.yaml").write_text(yaml.safe_dump(data_yaml))
    return root


def good() -> dict[str, Any]:
    return yaml.safe_load((USECASES_DIR / "customer-retention" / "data.yaml").read_text())


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            lambda d: d["profile"]["groups"]["region"]["reference"].update(north=0.5),
            "profile.groups.region",
            "sum to 1",
        ),
        (lambda d: d["profile"]["groups"].update(tier={"reference": {"a": 0.5, "b": 0.5}}), "(root)", "not a field"),
        (lambda d: d["sources"].pop("feedback"), "sources.feedback", "no schema here"),
        (
            lambda d: d["sources"]["feedback"].update(format="jsonl", fields={"x": {"type": "string"}}),
            "sources.feedback.format",
            "usecase.yaml says 'text'",
        ),
        (lambda d: d["pii"].update(chunk_bytes=200_000), "pii.chunk_bytes", "less than or equal to 100000"),
        (lambda d: d["pii"]["actions"].update(NAME="redact"), "pii.actions.NAME", "'mask', 'drop' or 'hash'"),
        (
            lambda d: d["sources"]["profiles"]["fields"]["email"].update(scan=True),
            "sources.profiles.fields.email",
            "not both",
        ),
        (lambda d: d.update(colour="blue"), "colour", "unknown field"),
        (
            lambda d: d["sources"]["profiles"].update(knowledge="native"),
            "sources.profiles",
            "knowledge 'native' does not fit jsonl sources (one of: markdown, csv, none)",
        ),
        (
            lambda d: d["sources"]["feedback"].update(knowledge="markdown"),
            "sources.feedback",
            "does not fit text sources",
        ),
        (lambda d: d["sources"]["purchases"].update(knowledge="pdf"), "sources.purchases.knowledge", "'none'"),
    ],
)
def test_bad_data_settings_name_the_file_field_and_reason(tmp_path, change, field, reason):
    settings = good()
    change(settings)
    root = write_usecase(tmp_path, settings)
    with pytest.raises(ConfigError) as error:
        load_data_settings(load_usecase("customer-retention", root), root)
    assert error.value.field == field
    assert reason in error.value.reason
    assert error.value.source.endswith("customer-retention/data.yaml")


# -------------------------------------------------------------------------------- maxima that limits imply


def _with_profile_segment(values: int, optional_extra: int) -> dict[str, Any]:
    """customer-retention with a profiled ``segment`` group of ``values`` reference values and more optional
    fields on the profiled source: the counters one object adds to the run ledger grow with both."""
    settings = good()
    fields = settings["sources"]["profiles"]["fields"]
    fields["segment"] = {"type": "string"}
    fields.update({f"extra_{i}": {"type": "string"} for i in range(optional_extra)})
    settings["profile"]["groups"]["segment"] = {"reference": {f"v{i}": 1 / values for i in range(values)}}
    return settings


def test_an_object_may_add_250_ledger_counters_and_251_is_a_config_error(tmp_path):
    root = write_usecase(tmp_path / "ok", _with_profile_segment(values=85, optional_extra=0))
    settings = load_data_settings(load_usecase("customer-retention", root), root)
    assert settings.ledger_counters("profiles") == MAX_LEDGER_COUNTERS == 250
    root = write_usecase(tmp_path / "over", _with_profile_segment(values=85, optional_extra=1))
    with pytest.raises(ConfigError) as error:
        load_data_settings(load_usecase("customer-retention", root), root)
    assert error.value.reason.startswith(
        "an object of source 'profiles' could add 251 counters to the run ledger (12, one per optional field, 36 PII "
        "types and the profile's groups), over the 250 one update takes"
    )


def test_a_source_may_have_100_fields_and_a_101st_is_a_config_error(tmp_path):
    settings = good()
    fields = settings["sources"]["purchases"]["fields"]
    fields.update({f"extra_{i}": {"type": "integer"} for i in range(MAX_FIELDS_PER_SOURCE - len(fields))})
    root = write_usecase(tmp_path / "ok", settings)
    assert len(load_data_settings(load_usecase("customer-retention", root), root).sources["purchases"].fields) == 100
    fields["one_more"] = {"type": "integer"}
    root = write_usecase(tmp_path / "over", settings)
    with pytest.raises(ConfigError) as error:
        load_data_settings(load_usecase("customer-retention", root), root)
    assert (error.value.field, error.value.reason) == (
        "sources.purchases.fields",
        "must have at most 100 items (it has 101)",
    )


@pytest.mark.parametrize("length", [MAX_SOURCE_NAME, MAX_SOURCE_NAME + 1])
def test_a_source_name_may_have_63_characters(tmp_path, length):
    name = "purchases_".ljust(length, "x")
    settings = good()
    settings["sources"] = {name if k == "purchases" else k: v for k, v in settings["sources"].items()}
    root = write_usecase(tmp_path, settings)
    register = root / "customer-retention" / "usecase.yaml"
    register.write_text(register.read_text().replace("name: purchases", f"name: {name}"))
    if length == MAX_SOURCE_NAME:
        assert name in load_data_settings(load_usecase("customer-retention", root), root).sources
        return
    with pytest.raises(ConfigError) as error:
        load_usecase("customer-retention", root)
    assert (error.value.field, error.value.reason) == (
        "data.sources.1.name",
        "must have at most 63 characters (it has 64)",
    )

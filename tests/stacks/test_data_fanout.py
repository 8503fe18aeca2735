"""Row fan-out of big objects in the synthesized Data stack: the route by size, split's three outcomes, the map
over an object's parts, the three functions' exact permissions, and the `limits` settings behind them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import ConfigError, load_usecase
from stacks.data.settings import load_data_settings
from tests.lambdas.pipeline.harness import data_settings, synth_data_stack
from tests.stacks.test_data import buckets, definition, good, grants, logical, of_type, render, write_usecase

CATCH = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "QuarantineFailedObject"}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return synth_data_stack().data


@pytest.fixture(scope="module")
def process(data) -> dict[str, Any]:
    states: dict[str, Any] = definition(data)["States"]["ProcessObjects"]["ItemProcessor"]["States"]
    return states


def function_of(data: dict[str, Any], name: str) -> str:
    return f"<{logical(data, f'{name}Function', 'AWS::Lambda::Function')}>"


def test_objects_over_the_threshold_go_to_split_before_anything_reads_them(data, process):
    threshold = data_settings().limits.row_fanout_bytes
    assert threshold == 8 * 1024 * 1024 < data_settings().limits.max_object_bytes
    assert definition(data)["States"]["ProcessObjects"]["ItemProcessor"]["StartAt"] == "RouteBySize"
    assert process["RouteBySize"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.size", "NumericGreaterThan": threshold, "Next": "Split"}],
        "Default": "Validate",
    }
    assert process["Split"]["Resource"] == function_of(data, "Split")
    assert "Parameters" not in process["Split"]  # the map's item as it is: key, size, run
    assert process["Split"]["Next"] == "SplitOutcome"
    assert process["Split"]["Catch"] == [CATCH]


def test_split_sends_the_object_to_its_parts_to_quarantine_or_back_to_validate(process):
    assert process["SplitOutcome"] == {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.route", "StringEquals": "parts", "Next": "ProcessParts"},
            # rejected whole: the answer carries the reason as `error` and the rows it counted
            {"Variable": "$.route", "StringEquals": "rejected", "Next": "QuarantineFailedObject"},
        ],
        "Default": "Validate",  # text, unknown sources and formats: validate gives them their reasons
    }
    assert process["QuarantineFailedObject"]["Parameters"] == {"phase": "process", "failed.$": "$"}
    # Both routes end in the one profile step: one ledger commit per object either way.
    assert process["ProcessParts"]["Next"] == "Assemble"
    assert process["Assemble"]["Next"] == process["Redact"]["Next"] == "Profile"
    assert process["Validate"]["Next"] == "Redact"


def test_the_parts_are_validated_and_redacted_on_a_distributed_map_of_keys(data, process):
    parts, assemble = process["ProcessParts"], process["Assemble"]
    assert parts["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    b = buckets(data)
    # The items are the part objects split wrote: keys and sizes, never record content.
    assert parts["ItemReader"] == {
        "Resource": "arn:<Partition>:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": f"<{b['Raw']}>", "Prefix.$": "$.parts_prefix"},
    }
    assert parts["ItemSelector"] == {
        "part.$": "$$.Map.Item.Value.Key",
        "key.$": "$.key",
        "run.$": "$.run",
        "source.$": "$.source",
        "encoding.$": "$.encoding",
    }
    assert parts["MaxConcurrency"] == data_settings().map_concurrency
    assert parts.get("ToleratedFailurePercentage", 0) == 0
    assert "ToleratedFailureCount" not in parts
    assert parts["ResultWriter"]["Parameters"] == {"Bucket": f"<{b['Reports']}>", "Prefix": "map-runs/"}
    assert parts["ResultPath"] is None  # split's answer passes on to assemble unchanged
    (part,) = parts["ItemProcessor"]["States"].values()
    assert part["Resource"] == function_of(data, "Part")
    assert "Parameters" not in part  # the item as it is
    assert "Catch" not in part  # a failed part fails the map, whose Catch quarantines the object whole
    assert assemble["Resource"] == function_of(data, "Assemble")
    assert "Parameters" not in assemble
    for name in ("ProcessParts", "Assemble"):
        assert process[name]["Catch"] == [CATCH]


def test_the_state_machine_reads_no_object_content(data):
    """Listing the parts needs s3:ListBucket only; the state machine never gets s3:GetObject on raw."""
    raw = f"<{buckets(data)['Raw']}>"
    machine_role = {"Ref": logical(data, "PipelineRole", "AWS::IAM::Role")}
    on_raw = set()
    for policy in of_type(data, "AWS::IAM::Policy").values():
        if machine_role not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(render(r).startswith(raw) for r in resources):
                on_raw.add((json.dumps(statement["Action"]), tuple(render(r) for r in resources)))
    assert on_raw == {('"s3:ListBucket"', (raw,))}


def test_the_fanout_functions_hold_exactly_what_they_touch(data):
    b = buckets(data)
    raw, quarantine = f"<{b['Raw']}>", f"<{b['Quarantine']}>"
    salt = f"<{logical(data, 'HashSalt', 'AWS::SecretsManager::Secret')}>"
    claims = f"<{logical(data, 'DuplicateClaims', 'AWS::DynamoDB::Table')}>"
    s3_write = {("kms:Decrypt", "key via s3"), ("kms:GenerateDataKey", "key via s3")}
    environment = {("kms:Decrypt", "key for its environment")}
    # split: reads raw uploads (decrypting through S3), writes staging parts, nothing else.
    assert (
        grants(data, "split")
        == {
            ("s3:GetObject", f"{raw}/datasets/*"),
            ("s3:ListBucket", f"{raw} prefix datasets/*"),
            ("s3:PutObject", f"{raw}/staging/*/parts/*"),
        }
        | s3_write
        | environment
    )
    assert (
        grants(data, "part")
        == {
            ("s3:GetObject", f"{raw}/staging/*/parts/*"),
            ("s3:ListBucket", f"{raw} prefix staging/*/parts/*"),
            ("s3:PutObject", f"{raw}/staging/*/parts/*"),
            ("dynamodb:BatchGetItem", claims),
            ("dynamodb:PutItem", claims),
            ("kms:Decrypt", "key via dynamodb"),
            ("kms:GenerateDataKey", "key via dynamodb"),
            ("comprehend:DetectPiiEntities", "*"),
            ("secretsmanager:GetSecretValue", salt),
            ("kms:Decrypt", "key via secretsmanager"),
        }
        | s3_write
        | environment
    )
    assert (
        grants(data, "assemble")
        == {
            ("s3:GetObject", f"{raw}/staging/*/parts/*"),
            ("s3:ListBucket", f"{raw} prefix staging/*/parts/*"),
            ("s3:PutObject", f"{raw}/staging/*/redacted/*"),
            ("s3:PutObject", f"{quarantine}/datasets/*"),
        }
        | s3_write
        | environment
    )


def test_each_fanout_function_reads_only_the_settings_it_needs(data):
    functions = {
        step: of_type(data, "AWS::Lambda::Function")[logical(data, f"{name}Function", "AWS::Lambda::Function")][
            "Properties"
        ]
        for step, name in (("split", "Split"), ("part", "Part"), ("assemble", "Assemble"))
    }
    assert functions["split"]["Environment"]["Variables"]["KIT_SETTINGS_FILE"] == "split.json"
    assert functions["part"]["Environment"]["Variables"]["KIT_SETTINGS_FILE"] == "part.json"
    assert "KIT_SETTINGS_FILE" not in functions["assemble"]["Environment"]["Variables"]
    assert {step: f["Handler"] for step, f in functions.items()} == {
        "split": "pipeline.split.handler",
        "part": "pipeline.part.handler",
        "assemble": "pipeline.assemble.handler",
    }
    # The split streams up to max_fanout_object_bytes in one invocation: a full vCPU and Lambda's longest timeout.
    assert (functions["split"]["MemorySize"], functions["split"]["Timeout"]) == (1769, 900)
    assert set(functions["part"]["Environment"]["Variables"]) >= {"CLAIMS_TABLE", "HASH_SALT_SECRET_ARN"}


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"row_fanout_bytes": 52428800}, "row_fanout_bytes (52428800) must be below max_object_bytes (52428800)"),
        ({"max_object_bytes": 4096, "row_fanout_bytes": 8192}, "must be below max_object_bytes (4096)"),
        ({"row_fanout_bytes": 1023}, "greater than or equal to 1024"),
        (
            {"row_fanout_bytes": 4096, "max_fanout_object_bytes": 4095},
            "max_fanout_object_bytes (4095) must be at least row_fanout_bytes (4096)",
        ),
        ({"max_fanout_object_bytes": 100 * 1024**3 + 1}, "less than or equal to 107374182400"),
    ],
)
def test_the_fanout_limits_are_checked_at_synth(tmp_path, limits, reason):
    settings = good()
    settings["limits"].update(limits)
    root = write_usecase(tmp_path, settings)
    with pytest.raises(ConfigError) as error:
        load_data_settings(load_usecase("customer-retention", root), root)
    assert error.value.field.startswith("limits")
    assert reason in error.value.reason


def test_small_fanout_limits_are_accepted_and_reach_the_functions(tmp_path):
    settings = good()
    settings["limits"].update(row_fanout_bytes=1024, max_fanout_object_bytes=1024)
    root = write_usecase(tmp_path, settings)
    loaded = load_data_settings(load_usecase("customer-retention", root), root)
    limits = loaded.contract().limits
    assert (limits.row_fanout_bytes, limits.max_fanout_object_bytes) == (1024, 1024)
    assert data_settings().contract().limits.max_fanout_object_bytes == 10 * 1024**3

"""Handlers against moto (S3, DynamoDB, Secrets Manager) and a botocore Stubber for Comprehend."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.stub import Stubber
from common.clients import client
from moto import mock_aws
from pipeline import assess, finalize, keys, profile, publish, quarantine, redact, start, validate
from pipeline.errors import Throttled
from pipeline.ledger import Ledger
from pipeline.report import ConservationError

from tests.lambdas.pipeline.harness import LambdaContext, data_settings, settings_environment

BUCKETS = {
    "RAW": "raw-bucket",
    "QUARANTINE_BUCKET": "quarantine-bucket",
    "CURATED_BUCKET": "curated-bucket",
    "REPORTS_BUCKET": "reports-bucket",
}
SALT = "pepper-" * 8
RUN = {
    "id": "run-1",
    "dataset": "ds",
    "bucket": BUCKETS["RAW"],
    "prefix": "datasets/ds/",
    "valid_prefix": "staging/run-1/valid/",
    "redacted_prefix": "staging/run-1/redacted/",
    "started_at": "2024-06-01T00:00:00+00:00",
}
PROFILE = {
    "customer_id": "C00001",
    "full_name": "Amara Brennan",
    "email": "amara@example.com",
    "phone": "+44 7700 900001",
    "age_band": "25-34",
    "region": "north",
    "plan": "basic",
    "tenure_months": 12,
    "retained": True,
}


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One mock for the module (a fresh mock re-creates every client); each test gets its own run below."""
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        # Cached clients (created after moto's import) stay valid across mocks; only the salt is per test.
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # the salt belongs to this mock
        s3 = boto3.client("s3")
        for name in BUCKETS.values():
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        db = boto3.client("dynamodb")
        db.create_table(
            TableName="ledger",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        db.create_table(
            TableName="claims",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        secret = boto3.client("secretsmanager").create_secret(Name="salt", SecretString=SALT)["ARN"]
        env = {
            **{k: v for k, v in BUCKETS.items() if k != "RAW"},
            "LEDGER_TABLE": "ledger",
            "CLAIMS_TABLE": "claims",
            "HASH_SALT_SECRET_ARN": secret,
            "USECASE_ID": "customer-retention",
            # Every section, in a settings folder as the stack's settings layer would hold it.
            **settings_environment(tmp_path_factory.mktemp("settings"), data_settings().contract().wire()),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield s3
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # the salt belongs to this mock


@pytest.fixture(autouse=True)
def fresh_run(request: pytest.FixtureRequest) -> None:
    """A dataset and run of its own for each test, so tests share the mock but not their state."""
    n = request.node.name.replace("_", "-")[-40:].strip("-")
    RUN.update(
        id=f"run-{n}",
        dataset=f"ds-{n}",
        prefix=f"datasets/ds-{n}/",
        valid_prefix=f"staging/run-{n}/valid/",
        redacted_prefix=f"staging/run-{n}/redacted/",
    )


def call(module: Any, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = module.handler(event, LambdaContext(module.__name__))
    return result


def put(s3: Any, relative: str, body: bytes | str) -> dict[str, Any]:
    data = body.encode() if isinstance(body, str) else body
    key = f"{RUN['prefix']}{relative}"
    s3.put_object(Bucket=BUCKETS["RAW"], Key=key, Body=data)
    return {"key": key, "size": len(data), "run": RUN}


def read(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def jsonl(*rows: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def ledger() -> Ledger:
    return Ledger(boto3.client("dynamodb"), "ledger")


def test_start_turns_the_marker_event_into_a_run(aws):
    event: dict[str, Any] = {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-06-01T12:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "id": "e",
        "version": "0",
        "detail": {
            "version": "0",
            "bucket": {"name": "raw-bucket"},
            "object": {"key": "datasets/ds/_READY"},
            "reason": "PutObject",
            "request-id": "r",
            "requester": "123456789012",
        },
    }
    run = call(start, {"event": event, "execution": "exec-1"})["run"]
    assert (run["dataset"], run["prefix"], run["redacted_prefix"]) == ("ds", "datasets/ds/", "staging/exec-1/redacted/")
    assert ledger().counts("exec-1") == {}  # the run exists, nothing counted yet
    with pytest.raises(keys.LayoutError):
        call(
            start,
            {
                "event": event | {"detail": event["detail"] | {"object": {"key": "datasets/a/b/_READY"}}},
                "execution": "x",
            },
        )


def test_validate_stages_valid_records_and_quarantines_the_rest_with_reasons(aws):
    item = put(aws, "profiles/p.jsonl", jsonl(PROFILE, PROFILE | {"plan": "gold"}, PROFILE))
    out = call(validate, item)
    assert (out["records_in"], out["valid"], out["rejected"]) == (3, 1, 2)
    staged = [
        json.loads(line)
        for line in read(aws, BUCKETS["RAW"], keys.staging_key(RUN["id"], "valid", item["key"])).splitlines()
    ]
    assert staged == [{"p": 1, "r": PROFILE}]
    rejects = [
        json.loads(line)
        for line in read(aws, BUCKETS["QUARANTINE_BUCKET"], f"{item['key']}.validate-rejects.jsonl").splitlines()
    ]
    assert [(r["position"], r["reason"]) for r in rejects] == [
        (2, "field 'plan': 'gold' is not one of ['basic', 'plus', 'premium']"),
        (3, "duplicate key customer_id=C00001 of record 1 in the same object"),
    ]


def test_validate_quarantines_a_whole_object_it_cannot_read(aws):
    item = put(aws, "purchases/old.parquet", b"PAR1\x00\x01")
    out = call(validate, item)
    assert (out["whole_object_rejected"], out["records_in"], out["rejected"]) == (True, 1, 1)
    assert read(aws, BUCKETS["QUARANTINE_BUCKET"], item["key"]) == b"PAR1\x00\x01"
    reason = json.loads(read(aws, BUCKETS["QUARANTINE_BUCKET"], f"{item['key']}.reason.json"))
    assert reason["reason"].startswith("unknown format '.parquet'")


def test_validate_finds_duplicates_across_objects_and_a_rerun_keeps_its_own(aws):
    first = put(aws, "profiles/a.jsonl", jsonl(PROFILE))
    second = put(aws, "profiles/b.jsonl", jsonl(PROFILE, PROFILE | {"customer_id": "C00002"}))
    assert call(validate, first)["valid"] == 1
    out = call(validate, second)
    assert (out["valid"], out["rejected"]) == (1, 1)
    reject = json.loads(read(aws, BUCKETS["QUARANTINE_BUCKET"], f"{second['key']}.validate-rejects.jsonl"))
    assert reject["reason"] == f"duplicate key customer_id=C00001 of record 1 in {first['key']}"
    assert call(validate, first)["valid"] == 1  # the same record at the same place claims it again
    assert call(validate, item_with(first, "_READY"))["skipped"]


def item_with(item: dict[str, Any], key: str) -> dict[str, Any]:
    return item | {"key": f"{RUN['prefix']}{key}"}


def test_redact_sends_one_request_and_applies_the_policy(aws):
    notes = "Amara Brennan asked for a call back on +44 7700 900001."
    record = {
        "ticket_id": "T1",
        "customer_id": "C1",
        "channel": "phone",
        "topic": "billing",
        "resolved": True,
        "notes": notes,
    }
    validated = call(
        validate, put(aws, "support_contacts/t.jsonl", jsonl(record, record | {"ticket_id": "T2", "notes": None}))
    )
    with Stubber(client("comprehend")) as stub:
        stub.add_response(
            "detect_pii_entities",
            {
                "Entities": [
                    {"Score": 0.99, "Type": "NAME", "BeginOffset": 0, "EndOffset": 13},
                    {"Score": 0.98, "Type": "PHONE", "BeginOffset": 39, "EndOffset": 54},
                ]
            },
            {"Text": notes, "LanguageCode": "en"},
        )
        out = call(redact, validated)
        stub.assert_no_pending_responses()
    assert (out["redacted"], out["requests"], out["entities"], out["records_with_pii"]) == (
        2,
        1,
        {"NAME": 1, "PHONE": 1},
        1,
    )
    staged = read(aws, BUCKETS["RAW"], keys.staging_key(RUN["id"], "redacted", validated["key"])).decode()
    assert "[NAME] asked for a call back on [PHONE]." in staged
    assert "Amara" not in staged
    assert "7700" not in staged


def test_redact_hashes_declared_fields_with_the_secret_salt(aws):
    validated = call(validate, put(aws, "profiles/p.jsonl", jsonl(PROFILE)))
    with Stubber(client("comprehend")):  # no free text in profiles: any request would fail the test
        call(redact, validated)
    staged = json.loads(read(aws, BUCKETS["RAW"], keys.staging_key(RUN["id"], "redacted", validated["key"])))
    # Independent of pipeline.pii.Hasher: HMAC-SHA256 keyed with the secret salt, first 32 hex characters.
    expected = hmac.new(SALT.encode(), b"amara@example.com", hashlib.sha256).hexdigest()[:32]
    assert staged["r"]["email"] == expected
    assert (staged["r"]["full_name"], staged["r"]["phone"]) == ("[NAME]", "[PHONE]")


def test_redact_turns_lasting_throttling_into_the_retryable_error(aws):
    record = {
        "ticket_id": "T1",
        "customer_id": "C1",
        "channel": "phone",
        "topic": "billing",
        "resolved": True,
        "notes": "hello",
    }
    validated = call(validate, put(aws, "support_contacts/t.jsonl", jsonl(record)))
    with Stubber(client("comprehend")) as stub:
        stub.add_client_error("detect_pii_entities", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(Throttled):
            call(redact, validated)


def redacted_profiles(aws: Any, relative: str = "profiles/p.jsonl") -> dict[str, Any]:
    validated = call(validate, put(aws, relative, jsonl(PROFILE, PROFILE | {"customer_id": "C2", "email": None})))
    with Stubber(client("comprehend")):
        return call(redact, validated)


def test_profile_counts_each_object_once(aws):
    redacted = redacted_profiles(aws)
    assert call(profile, redacted) == {"key": redacted["key"], "counted": True}
    first = ledger().counts(RUN["id"])
    assert call(profile, redacted)["counted"] is False  # a retried step adds nothing
    assert ledger().counts(RUN["id"]) == first
    assert (first["records_in"], first["quarantined"], first["passed"]) == (2, 1, 1)
    assert (first["group|age_band|25-34"], first["positive|region|north"], first["pii|EMAIL"]) == (1, 1, 1)


def test_quarantine_moves_a_failed_object_and_counts_it(aws):
    redacted = redacted_profiles(aws)
    failed = redacted | {"error": {"Error": "States.Timeout", "Cause": "profile timed out"}}
    out = call(quarantine, {"phase": "process", "failed": failed})
    assert out["quarantined"] is True
    q = BUCKETS["QUARANTINE_BUCKET"]
    assert read(aws, q, redacted["key"]) == read(aws, BUCKETS["RAW"], redacted["key"])
    assert json.loads(read(aws, q, f"{redacted['key']}.reason.json"))["error"] == "States.Timeout"
    with pytest.raises(aws.exceptions.NoSuchKey):
        read(aws, q, f"{redacted['key']}.validate-rejects.jsonl")  # inside the whole copy now
    counts = ledger().counts(RUN["id"])
    assert (counts["records_in"], counts["quarantined"], counts["objects_quarantined"]) == (2, 2, 1)
    assert call(profile, redacted)["counted"] is False  # the object has an owner now


def test_quarantine_leaves_an_object_that_was_processed_after_all(aws):
    redacted = redacted_profiles(aws)
    call(profile, redacted)
    out = call(quarantine, {"phase": "process", "failed": redacted | {"error": {"Error": "Lambda.Unknown"}}})
    assert out["quarantined"] is False
    assert ledger().counts(RUN["id"])["quarantined"] == 1


def publish_item(redacted: dict[str, Any], status: str = "WARN") -> dict[str, Any]:
    return {"key": keys.staging_key(RUN["id"], "redacted", redacted["key"]), "run": RUN, "bias_status": status}


def curated_keys() -> set[str]:
    """Every key of the run's dataset in curated, records/ and documents/."""
    c = BUCKETS["CURATED_BUCKET"]
    return {
        o["Key"]
        for prefix in (keys.records_prefix(RUN["dataset"]), keys.documents_prefix(RUN["dataset"]))
        for o in boto3.client("s3").list_objects_v2(Bucket=c, Prefix=prefix).get("Contents", [])
    }


def test_publish_writes_records_and_the_csv_document_with_its_sidecar(aws):
    order = "order_id,customer_id,service,amount,purchased_on\nO1,C1,streaming,12.5,2024-02-01\n"
    validated = call(validate, put(aws, "purchases/o.csv", order))
    redacted = call(redact, validated)
    call(profile, redacted)
    out = call(publish, publish_item(redacted))
    records = f"records/{RUN['dataset']}/purchases/o.csv"
    document = f"documents/{RUN['dataset']}/purchases/o.csv"
    assert (out["published"], out["records_key"], out["document_key"]) == (True, records, document)
    c = BUCKETS["CURATED_BUCKET"]
    assert read(aws, c, records).decode() == order  # schema column order, values as typed
    assert read(aws, c, document) == read(aws, c, records)  # a knowledge base parses CSV as it is
    assert aws.head_object(Bucket=c, Key=document)["ContentType"] == "text/csv"
    sidecar = json.loads(read(aws, c, f"{document}.metadata.json"))
    assert sidecar == {
        "metadataAttributes": {
            "usecase": "customer-retention",
            "dataset": RUN["dataset"],
            "source": "purchases",
            "format": "csv",
            "records": 1,
            "bias_status": "WARN",
        }
    }
    assert curated_keys() == {records, document, f"{document}.metadata.json"}  # no sidecar beside records
    assert ledger().counts(RUN["id"])["curated"] == 1  # written twice, counted once


def test_publish_renders_json_lines_as_a_markdown_document_and_a_retry_changes_nothing(aws):
    redacted = redacted_profiles(aws)
    call(profile, redacted)
    item = publish_item(redacted)
    first = call(publish, item)
    document = f"documents/{RUN['dataset']}/profiles/p.jsonl.md"
    assert first["document_key"] == document
    c = BUCKETS["CURATED_BUCKET"]
    records = read(aws, c, first["records_key"]).decode().splitlines()
    assert [json.loads(line)["customer_id"] for line in records] == ["C00001"]  # C2 lacked its email
    markdown = read(aws, c, document).decode()
    assert markdown.startswith("# profiles: p.jsonl\n")
    assert "## Record at line 1\n\n- customer_id: C00001\n- full_name: [NAME]\n" in markdown
    assert "Amara" not in markdown
    assert "amara@example.com" not in markdown
    assert aws.head_object(Bucket=c, Key=document)["ContentType"] == "text/markdown"
    assert json.loads(read(aws, c, f"{document}.metadata.json"))["metadataAttributes"]["format"] == "jsonl"
    before = {key: read(aws, c, key) for key in curated_keys()}
    assert call(publish, item) == first  # a retried publish writes the same keys and counts nothing more
    assert {key: read(aws, c, key) for key in curated_keys()} == before
    assert ledger().counts(RUN["id"])["curated"] == 1


def test_publish_keeps_a_source_set_to_none_out_of_documents(aws):
    event = {"customer_id": "C1", "session_id": "S1", "service": "tv", "event": "view", "at": "2024-06-01T10:00:00Z"}
    redacted = call(redact, call(validate, put(aws, "service_events/e.jsonl", jsonl(event))))
    call(profile, redacted)
    out = call(publish, publish_item(redacted))
    assert (out["published"], out["document_key"]) == (True, None)
    assert curated_keys() == {f"records/{RUN['dataset']}/service_events/e.jsonl"}
    assert ledger().counts(RUN["id"])["curated"] == 1


def test_publish_skips_an_object_quarantined_after_redaction(aws):
    redacted = redacted_profiles(aws)
    call(quarantine, {"phase": "process", "failed": redacted})
    assert call(publish, publish_item(redacted))["published"] is False
    assert curated_keys() == set()


def test_a_failed_publish_is_quarantined_and_its_leftovers_removed(aws):
    redacted = redacted_profiles(aws)
    call(profile, redacted)
    c = BUCKETS["CURATED_BUCKET"]
    leftovers = {
        f"records/{RUN['dataset']}/profiles/p.jsonl",
        f"documents/{RUN['dataset']}/profiles/p.jsonl.md",
        f"documents/{RUN['dataset']}/profiles/p.jsonl.md.metadata.json",
    }
    for key in leftovers:
        aws.put_object(Bucket=c, Key=key, Body=b"partial")
    assert curated_keys() == leftovers
    out = call(
        quarantine, {"phase": "publish", "failed": publish_item(redacted) | {"error": {"Error": "Lambda.Unknown"}}}
    )
    assert out["quarantined"] is True
    assert curated_keys() == set()
    assert ledger().counts(RUN["id"])["publish_quarantined"] == 1


def test_a_document_too_large_for_the_knowledge_base_publishes_nothing(aws, monkeypatch):
    redacted = redacted_profiles(aws)
    call(profile, redacted)
    monkeypatch.setattr(publish, "KNOWLEDGE_BASE_MAX_DOCUMENT_BYTES", 64)
    with pytest.raises(publish.DocumentTooLarge):
        call(publish, publish_item(redacted))
    assert curated_keys() == set()  # the Catch quarantines the object; nothing half-published
    assert "curated" not in ledger().counts(RUN["id"])


def test_assess_and_finalize_write_the_report_and_metrics(aws, capsys):
    redacted = redacted_profiles(aws)
    call(profile, redacted)
    call(publish, publish_item(redacted))
    profile_result = call(assess, {"run": RUN})
    assert profile_result["status"] == "WARN"  # two customers: too few to judge
    capsys.readouterr()
    out = call(finalize, {"run": RUN, "assessment": profile_result, "published": True})
    summary = out["summary"]
    assert (summary["records_in"], summary["records_curated"], summary["records_quarantined"]) == (2, 1, 1)
    assert summary["curated"] == {
        "bucket": BUCKETS["CURATED_BUCKET"],
        "records_prefix": f"records/{RUN['dataset']}/",
        "documents_prefix": f"documents/{RUN['dataset']}/",
    }
    report = json.loads(read(aws, BUCKETS["REPORTS_BUCKET"], summary["report"]["json"]))
    assert report["conservation"]["holds"] is True
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    run_metrics = next(m for m in metrics if "RecordsIn" in m)
    assert (run_metrics["RecordsIn"], run_metrics["QuarantineRate"], run_metrics["BiasStatus"]) == (
        [2.0],
        [50.0],
        [1.0],
    )
    assert any(m.get("EntityType") == "EMAIL" for m in metrics)


def test_finalize_fails_loudly_when_records_do_not_add_up(aws):
    redacted = redacted_profiles(aws)
    call(profile, redacted)  # passed 1, but nothing is published or quarantined in phase 2
    with pytest.raises(ConservationError, match="records_in = curated"):
        call(finalize, {"run": RUN, "assessment": call(assess, {"run": RUN}), "published": True})
    report = json.loads(read(aws, BUCKETS["REPORTS_BUCKET"], keys.report_key(RUN["dataset"], RUN["id"], "json")))
    assert report["conservation"]["holds"] is False

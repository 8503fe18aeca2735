"""The daily fine-tuning export against moto DynamoDB and S3 with a Stubber'd Comprehend (AWS's own model)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from api.finetune_export import export_date, run, validate_line
from api.store import Telemetry
from api.store.export_contract import EXPORT_SETTINGS_ENV, ExportSettings, export_settings_from_environment
from botocore.stub import Stubber
from moto import mock_aws
from pipeline.contract import PiiPolicy
from pipeline.pii import Hasher
from pipeline.redact import comprehend_detector
from pydantic import ValidationError

from tests.lambdas.api.store_world import REGION, Clock, create_table

DAY_ONE = 1_714_564_800.0  # 2024-05-01T12:00:00Z
DAY_TWO = DAY_ONE + 86_400  # 2024-05-02T12:00:00Z
TABLE = "telemetry"
BUCKET = "curated"
SALT = b"a-salt-of-sixteen-bytes-or-more"
SETTINGS = ExportSettings(
    usecase="it-helpdesk",
    telemetry_table=TABLE,
    curated_bucket=BUCKET,
    pii=PiiPolicy(
        language="en",
        min_score=0.5,
        chunk_bytes=90_000,
        default_action="mask",
        actions={"EMAIL": "hash", "PASSWORD": "drop", "NAME": "mask"},
    ),
    hash_salt_secret_arn="arn:aws:secretsmanager:eu-west-1:111122223333:secret:salt-AbCdEf",
    system_prompt="You are the IT helpdesk assistant.",
    max_record_tokens=200,
)
EMAIL = "jane.doe@example.com"
# (user, request, prompt, answer); every one rated up on day one unless listed below
EXCHANGES = [
    ("alice", "req1", f"My email is {EMAIL}, please reset my VPN token.", "Done, Jane Doe. Your token was reset."),
    ("alice", "req2", "My password is hunter2 and it expired", "Reset it in the portal."),
    ("bob", "req3", EMAIL, "Thanks"),
    ("carol", "req5", "Rated down", "Not exported"),
    ("carol", "req6", "Long one", "x" * 1000),
    ("dave", "req7", "User: cannot print", "Restart the spooler."),
    ("erin", "req8", "Rated on day two", "Not in the window"),
    ("frank", "req9", "How do I map a network drive?", "Open File Explorer and choose Map network drive."),
]


class NoMetrics:
    def add_metric(self, **_: Any) -> None:
        pass

    def flush_metrics(self) -> None:
        pass


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with mock_aws():
        db = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        create_table(db, TABLE, up_index=True)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        clock = Clock(DAY_ONE)
        telemetry = Telemetry(TABLE, db, NoMetrics(), clock=clock)
        for user, request, prompt, answer in EXCHANGES:
            telemetry.exchange(user, "s1", request, prompt, answer, "rag")
        for user, request, *_ in EXCHANGES:
            clock.now = DAY_TWO if request == "req8" else DAY_ONE
            telemetry.feedback(user, "s1", request, "down" if request == "req5" else "up", None, None)
        clock.now = DAY_ONE
        telemetry.feedback("bob", "s1", "req4", "up", None, None)  # rates a request with no exchange of bob's
        yield db, s3


def chunk() -> str:
    """What the one DetectPiiEntities request reads: every scanned text of the candidates, in order."""
    texts = [
        text
        for user, request, *pair in EXCHANGES
        if request in {"req1", "req2", "req3", "req7", "req9"}
        for text in pair
    ]
    return "\n\n".join(texts)


def entity(text: str, needle: str, kind: str, occurrence: int = 0) -> dict[str, Any]:
    begin = -1
    for _ in range(occurrence + 1):
        begin = text.index(needle, begin + 1)
    return {"Score": 0.99, "Type": kind, "BeginOffset": begin, "EndOffset": begin + len(needle)}


def stub_comprehend(runs: int) -> tuple[Any, Stubber]:
    comprehend = boto3.client("comprehend", region_name=REGION)
    stubber = Stubber(comprehend)
    text = chunk()
    found = [
        entity(text, EMAIL, "EMAIL", 0),
        entity(text, "Jane Doe", "NAME"),
        entity(text, "hunter2", "PASSWORD"),
        entity(text, EMAIL, "EMAIL", 1),
    ]
    for _ in range(runs):
        stubber.add_response("detect_pii_entities", {"Entities": found}, {"Text": text, "LanguageCode": "en"})
    stubber.activate()
    return comprehend, stubber


def export(aws: tuple[Any, Any], comprehend: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
    db, s3 = aws
    return run(
        event if event is not None else {},
        settings=SETTINGS,
        db=db,
        s3=s3,
        detect=comprehend_detector(comprehend, "en"),
        hasher=Hasher(SALT),
        clock=lambda: DAY_TWO,  # the scheduled run on day two exports day one
    )


def read(s3: Any, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return body


def test_export_writes_redacted_records_in_the_bedrock_conversation_format(aws: tuple[Any, Any]) -> None:
    comprehend, stubber = stub_comprehend(1)
    export(aws, comprehend)
    stubber.assert_no_pending_responses()
    body = read(aws[1], "finetune/2024-05-01/train.jsonl").decode()
    digest = hmac.new(SALT, EMAIL.encode(), hashlib.sha256).hexdigest()[:32]
    system = [{"text": "You are the IT helpdesk assistant."}]
    assert [json.loads(line) for line in body.splitlines()] == [
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": system,
            "messages": [
                {"role": "user", "content": [{"text": f"My email is [EMAIL:{digest}], please reset my VPN token."}]},
                {"role": "assistant", "content": [{"text": "Done, [NAME]. Your token was reset."}]},
            ],
        },
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": system,
            "messages": [
                {"role": "user", "content": [{"text": "How do I map a network drive?"}]},
                {"role": "assistant", "content": [{"text": "Open File Explorer and choose Map network drive."}]},
            ],
        },
    ]
    for line in body.splitlines():
        validate_line(line)
    for secret in (EMAIL, "Jane Doe", "hunter2", "jane.doe"):
        assert secret not in body


def test_manifest_counts_every_thumbs_up_by_outcome(aws: tuple[Any, Any]) -> None:
    comprehend, _ = stub_comprehend(1)
    returned = export(aws, comprehend)
    stored = json.loads(read(aws[1], "finetune/2024-05-01/manifest.json"))
    assert stored == returned
    assert stored == {
        "usecase": "it-helpdesk",
        "date": "2024-05-01",
        "window": {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"},
        "format": "bedrock-conversation-2024",
        "train": "finetune/2024-05-01/train.jsonl",
        "counts": {
            "thumbs_up": 7,  # req1 req2 req3 req4 req6 req7 req9 (req5 down, req8 on day two)
            "exchanges_read": 6,  # req4 has no exchange in bob's partition
            "exported": 2,
            "dropped": {
                "exchange_missing": 1,
                "too_long": 1,
                "pii_drop": 1,
                "empty_after_redaction": 1,
                "reserved_keyword": 1,
            },
        },
        "pii": {"entities": {"EMAIL": 2, "NAME": 1, "PASSWORD": 1}, "comprehend_requests": 1},
    }


def test_a_rerun_for_the_same_day_writes_the_same_bytes(aws: tuple[Any, Any]) -> None:
    comprehend, stubber = stub_comprehend(2)
    export(aws, comprehend)
    first = {key: read(aws[1], key) for key in ("finetune/2024-05-01/train.jsonl", "finetune/2024-05-01/manifest.json")}
    export(aws, comprehend, {"date": "2024-05-01"})
    stubber.assert_no_pending_responses()
    listed = aws[1].list_objects_v2(Bucket=BUCKET)["Contents"]
    assert sorted(obj["Key"] for obj in listed) == sorted(first)
    assert {key: read(aws[1], key) for key in first} == first


def test_a_day_without_thumbs_up_has_a_manifest_and_no_dataset(aws: tuple[Any, Any]) -> None:
    comprehend, stubber = stub_comprehend(0)
    body = export(aws, comprehend, {"date": "2024-04-30"})
    stubber.assert_no_pending_responses()
    assert body["train"] is None
    assert body["counts"]["thumbs_up"] == 0
    keys = [obj["Key"] for obj in aws[1].list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["finetune/2024-04-30/manifest.json"]


@pytest.mark.parametrize(
    ("event", "day"),
    [
        ({}, date(2024, 5, 1)),  # Scheduler without input: yesterday (UTC)
        ({"time": "2024-05-10T01:00:00Z", "detail-type": "Scheduled Event"}, date(2024, 5, 9)),  # a rule's event
        ({"time": "2024-05-10T00:30:00+02:00"}, date(2024, 5, 8)),  # 22:30 UTC on the 9th
        ({"date": "2024-03-31", "time": "2024-05-10T01:00:00Z"}, date(2024, 3, 31)),
    ],
)
def test_export_date(event: dict[str, Any], day: date) -> None:
    assert export_date(event, DAY_TWO) == day


def msg(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"text": text}]}


def rec(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemaVersion": "bedrock-conversation-2024", **extra, "messages": list(messages)}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"messages": [msg("user", "q"), msg("assistant", "a")]}, "schemaVersion"),
        (rec(msg("user", "q"), msg("assistant", "a"), schemaVersion="bedrock-conversation-2023"), "schemaVersion"),
        (rec(msg("assistant", "a"), msg("user", "q")), "start with the user"),
        (rec(msg("user", "q"), msg("user", "q"), msg("assistant", "a")), "alternate"),
        (rec(msg("user", "q")), "at least 2 items"),
        (rec(msg("user", ""), msg("assistant", "a")), "at least 1 character"),
        (rec(msg("user", "q [EOS]"), msg("assistant", "a")), "reserved marker"),
        (rec(msg("user", "q"), msg("assistant", "Assistant: a")), "reserved marker"),
        (rec(msg("user", "q"), msg("assistant", "a"), prompt="q"), "Extra inputs"),
        (rec(msg("system", "q"), msg("assistant", "a")), "role"),
    ],
)
def test_validate_line_refuses_records_outside_the_format(record: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_line(json.dumps(record))


def test_export_settings_travel_as_json_in_the_environment() -> None:
    environ = {EXPORT_SETTINGS_ENV: SETTINGS.model_dump_json()}
    assert export_settings_from_environment(environ) == SETTINGS
    with pytest.raises(ValidationError, match="prefix"):
        ExportSettings.model_validate({**SETTINGS.model_dump(), "prefix": "no-slash"})

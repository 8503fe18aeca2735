"""End to end: the synthesized state machine, run by moto's Step Functions interpreter on the sample data.

The definition is the one in the synthesized template (its Fn::Join resolved to the buckets, table and
functions created in moto); every Lambda task is dispatched in-process to the real handler with that
function's synthesized environment and its settings from the synthesized settings layer (as /opt/settings);
Comprehend is answered by the model-checked `PiiResponder`. The stack is synthesized with a small
`limits.row_fanout_bytes` (FANOUT_BYTES), so the sample's bigger CSV and JSONL objects take the fan-out route
(split -> ProcessParts, a nested Distributed Map of `part` -> assemble) while the small ones are read whole:
both paths run in the same execution and must balance together.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from common.clients import client
from pipeline import assemble, keys, part, rows, runtime, split  # noqa: F401 - imported before sockets are blocked

from tests.e2e.harness import ACCOUNT, REGION, Deployment, Dispatcher, execute, moto_step_functions
from tests.lambdas.pipeline.harness import (
    PiiResponder,
    as_written,
    parse_markdown,
    pipeline_settings,
    synth_data_stack,
)
from tools.generate_sample_data import generate

DATASET = "sample"
REFUSED_DOC = "feedback/comment-005.txt"  # Comprehend refuses it: the Catch must route it to quarantine
# Objects stored larger are split: profiles, purchases' orders, service events and tickets (2 to 12 parts
# each); the small ones (feedback, the latin-1 tickets, the parquet export) are read whole.
FANOUT_BYTES = 6000
FANNED_OUT = {
    "profiles/part-000.jsonl",
    "profiles/part-001.jsonl",
    "purchases/orders-2024h1.csv",
    "service_events/part-000.jsonl",
    "service_events/part-001.jsonl",
    "service_events/part-002.jsonl",
    "support_contacts/tickets-2024h1.jsonl",
}


class DataDeployment(Deployment):
    """The Data stack in moto: its buckets (unique names), tables and hash-salt secret, then its functions and
    state machine."""

    def __init__(self, template: dict[str, Any]) -> None:
        super().__init__(template, handlers="pipeline.", machine_name="pipeline")

    def provision(self) -> None:
        for logical in self.of_type("AWS::S3::Bucket"):
            name = f"{logical.lower()[:40]}-{uuid.uuid4().hex[:8]}"
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            self.physical[logical] = name
            self.arns[logical] = f"arn:aws:s3:::{name}"
        for logical, table in self.of_type("AWS::DynamoDB::Table").items():
            props = table["Properties"]
            boto3.client("dynamodb", region_name=REGION).create_table(
                TableName=logical,
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
            self.physical[logical] = logical
        (secret,) = self.of_type("AWS::SecretsManager::Secret")
        self.physical[secret] = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="hash-salt", SecretString="s" * 64
        )["ARN"]

    def bucket(self, prefix: str) -> str:
        (name,) = [
            v
            for k, v in self.physical.items()
            if k.startswith(prefix) and self.resources[k]["Type"] == "AWS::S3::Bucket"
        ]
        return name


@pytest.fixture(scope="module")
def pipeline(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    synth = synth_data_stack(row_fanout_bytes=FANOUT_BYTES)
    with moto_step_functions():
        # Cached clients (created after moto's import) stay valid; only the salt belongs to this mock.
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # the salt belongs to this mock
        deployment = DataDeployment(synth.data)
        dispatcher = Dispatcher(deployment.functions).install(monkeypatch_module, synth.settings_folder)
        monkeypatch_module.setattr(runtime, "env", dispatcher.env)
        comprehend = client("comprehend")
        responder = PiiResponder(refuse=lambda text: "comment-005 marker" in text).install(comprehend)
        raw = deployment.bucket("Raw")
        files = generate()
        files[REFUSED_DOC] = files[REFUSED_DOC] + b"\ncomment-005 marker\n"
        for relative, content in files.items():
            deployment.s3.put_object(Bucket=raw, Key=f"datasets/{DATASET}/{relative}", Body=content)
        deployment.s3.put_object(Bucket=raw, Key=f"datasets/{DATASET}/_READY", Body=b"")
        # Captures what the state machine announces on the default bus.
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="published")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="published", EventPattern=json.dumps({"detail-type": ["DatasetPublished"]}))
        events.put_targets(Rule="published", Targets=[{"Id": "q", "Arn": queue_arn}])
        yield {
            "deployment": deployment,
            "dispatcher": dispatcher,
            "responder": responder,
            "raw": raw,
            "files": files,
            "queue": queue,
            "sqs": sqs,
        }
        responder.uninstall(comprehend)
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # the salt belongs to this mock


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    """The EventBridge 'Object Created' event S3 sends for the marker, as the rule passes it on."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2024-06-01T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 0, "etag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0"},
            "request-id": "R",
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def run(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    event = s3_event(pipeline["raw"], f"datasets/{DATASET}/_READY")
    return execute(pipeline["deployment"].state_machine, name, timeout=90, event=event)


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def record_count(key: str, body: bytes) -> int:
    if key.endswith(".jsonl"):
        return len(body.decode().splitlines())
    if key.endswith(".csv"):
        return len(list(csv.reader(io.StringIO(body.decode())))) - 1
    return 1


@pytest.fixture(scope="module")
def first_run(pipeline: dict[str, Any]) -> dict[str, Any]:
    described = run(pipeline, "run-1")
    requests = list(pipeline["responder"].requests)
    deployment = pipeline["deployment"]
    s3 = deployment.s3
    return {
        "described": described,
        "requests": requests,
        "curated": objects(s3, deployment.bucket("Curated")),
        "quarantine": objects(s3, deployment.bucket("Quarantine")),
        "report": json.loads(
            s3.get_object(Bucket=deployment.bucket("Reports"), Key=f"reports/{DATASET}/run-1/report.json")[
                "Body"
            ].read()
        ),
        "markdown": s3.get_object(Bucket=deployment.bucket("Reports"), Key=f"reports/{DATASET}/run-1/report.md")["Body"]
        .read()
        .decode(),
    }


def test_the_run_succeeds_and_announces_the_dataset(pipeline, first_run):
    assert first_run["described"]["status"] == "SUCCEEDED", first_run["described"].get("cause")
    messages = pipeline["sqs"].receive_message(QueueUrl=pipeline["queue"], MaxNumberOfMessages=10)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert event["source"] == "journey-dev.data"
    assert event["detail-type"] == "DatasetPublished"
    assert event["detail"]["dataset"] == DATASET
    assert event["detail"]["bias_status"] == first_run["report"]["profile"]["status"]
    assert event["detail"]["records_curated"] == first_run["report"]["conservation"]["curated"]
    curated = pipeline["deployment"].bucket("Curated")
    assert event["detail"]["curated"] == {
        "bucket": curated,
        "records_prefix": f"records/{DATASET}/",
        "documents_prefix": f"documents/{DATASET}/",
    }


def test_conservation_holds_in_the_report_and_in_the_buckets(first_run):
    balance = first_run["report"]["conservation"]
    assert balance["holds"]
    assert balance["records_in"] == balance["curated"] + balance["quarantined"]
    # Published records are counted once, in records/; documents/ holds a rendering of some of them.
    data = records(first_run["curated"])
    assert sum(record_count(k, v) for k, v in data.items()) == balance["curated"]
    quarantined = 0
    for key, body in first_run["quarantine"].items():
        if key.endswith("-rejects.jsonl"):
            quarantined += len(body.decode().splitlines())
        elif key.endswith(".reason.json"):
            quarantined += 1  # one whole object; its copy sits next to it
    assert quarantined == balance["quarantined"]
    # The sample holds 200 customers and 150 orders that pass validation.
    assert sum(record_count(k, v) for k, v in data.items() if "/profiles/" in k) == 200
    assert sum(record_count(k, v) for k, v in data.items() if "/purchases/" in k) == 150


def test_every_bad_input_is_quarantined_with_its_reason(first_run):
    quarantine = first_run["quarantine"]

    def reason(relative: str) -> str:
        return json.loads(quarantine[f"datasets/{DATASET}/{relative}.reason.json"])["reason"]

    def rejects(relative: str, step: str = "validate") -> list[str]:
        body = quarantine[f"datasets/{DATASET}/{relative}.{step}-rejects.jsonl"]
        return [json.loads(line)["reason"] for line in body.decode().splitlines()]

    assert reason("feedback/empty.txt") == "empty object"
    assert reason("support_contacts/legacy-latin1.jsonl").startswith("not UTF-8: byte 0xf3")
    assert reason("purchases/legacy-export.parquet").startswith("unknown format '.parquet'")
    assert f"datasets/{DATASET}/purchases/legacy-export.parquet" in quarantine  # the object itself, kept
    assert any("exceeds max_record_bytes" in r for r in rejects("service_events/part-002.jsonl"))
    assert any(r.startswith("invalid JSON") for r in rejects("service_events/part-000.jsonl"))
    assert any("is not one of" in r for r in rejects("service_events/part-001.jsonl"))
    profile_rejects = rejects("profiles/part-000.jsonl") + rejects("profiles/part-001.jsonl")
    assert sum("duplicate" in r for r in profile_rejects) == 2  # one within an object, one across
    assert any("missing required field 'email'" in r for r in profile_rejects)
    assert any("unexpected field(s) ssn" in r for r in profile_rejects)
    assert any("is not a valid integer" in r or "expected integer" in r for r in profile_rejects)
    assert len(rejects("purchases/orders-2024h1.csv")) == 3
    assert rejects("feedback/comment-card.txt", "redact")[0].startswith("PII policy drops the whole document")
    refused = json.loads(quarantine[f"datasets/{DATASET}/{REFUSED_DOC}.reason.json"])
    assert refused["step"] == "process"
    assert "InvalidRequestException" in refused["cause"]


def test_no_pii_span_the_detector_reported_survives_in_curated(pipeline, first_run):
    spans = {text for _, text in pipeline["responder"].spans}
    assert len(spans) > 50  # the sample plants names, e-mails, phones and a card number in free text
    curated = b"\n".join(first_run["curated"].values()).decode()
    assert [s for s in spans if s in curated] == []
    profiles = [
        json.loads(line)
        for k, v in records(first_run["curated"]).items()
        if "/profiles/" in k
        for line in v.decode().splitlines()
    ]
    assert {p["full_name"] for p in profiles} == {"[NAME]"}
    assert all(p["phone"] in ("[PHONE]", None) for p in profiles)
    assert all(len(p["email"]) == 32 and "@" not in p["email"] for p in profiles)


def test_hashed_email_joins_support_notes_to_profiles(first_run):
    profiles = {
        (p := json.loads(line))["customer_id"]: p["email"]
        for k, v in records(first_run["curated"]).items()
        if "/profiles/" in k
        for line in v.decode().splitlines()
    }
    tickets = [
        json.loads(line)
        for line in first_run["curated"][f"records/{DATASET}/support_contacts/tickets-2024h1.jsonl"]
        .decode()
        .splitlines()
    ]
    joined = [t for t in tickets if t.get("notes") and f"[EMAIL:{profiles.get(t['customer_id'])}]" in t["notes"]]
    assert joined, "a ticket that mentions its customer's e-mail carries the same hash as the profile"
    card_ticket = next(t for t in tickets if t["ticket_id"] == "T09001")
    assert "notes" not in card_ticket  # CREDIT_DEBIT_NUMBER: drop the field


def records(curated: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in curated.items() if k.startswith(f"records/{DATASET}/")}


def documents(curated: dict[str, bytes]) -> dict[str, bytes]:
    """The knowledge base's documents (sidecars left out)."""
    return {
        k: v for k, v in curated.items() if k.startswith(f"documents/{DATASET}/") and not k.endswith(".metadata.json")
    }


def test_curated_holds_records_and_documents_only(first_run):
    curated = first_run["curated"]
    assert set(curated) == set(records(curated)) | {k for k in curated if k.startswith(f"documents/{DATASET}/")}, (
        "nothing outside records/<dataset>/ and documents/<dataset>/"
    )
    assert not [k for k in records(curated) if k.endswith(".metadata.json")]  # sidecars belong to documents


def test_the_knowledge_base_prefix_holds_only_what_it_can_ingest(first_run):
    # Bedrock parses .txt, .md, .html, .doc(x), .csv, .xls(x), .pdf; anything else under the data source's
    # prefix would be a failed document in every sync (and trip the Knowledge stack's alarm).
    curated = first_run["curated"]
    under = [k for k in curated if k.startswith("documents/")]
    docs = documents(curated)
    assert len(docs) > 5
    for key in under:
        if key.endswith(".metadata.json"):
            assert key.removesuffix(".metadata.json") in docs, f"{key}: a sidecar without its document"
            assert len(curated[key]) <= 10 * 1024  # Bedrock's metadata file limit
        else:
            assert posixpath.splitext(key)[1] in keys.KNOWLEDGE_BASE_EXTENSIONS, key
            assert f"{key}.metadata.json" in curated, f"{key}: no metadata sidecar"
    assert not [k for k in under if ".jsonl" in k and not k.endswith((".jsonl.md", ".jsonl.md.metadata.json"))]


def test_records_and_documents_are_consistent(pipeline, first_run):
    curated = first_run["curated"]
    settings = pipeline_settings()
    report_status = first_run["report"]["profile"]["status"]
    expected: dict[str, str] = {}
    for records_key, body in records(curated).items():
        raw_key = "datasets/" + records_key.removeprefix("records/")
        source = settings.sources[records_key.split("/")[2]]
        document = keys.document_key(raw_key, source.knowledge)
        if document is None:
            continue
        expected[document] = records_key
        text = curated[document].decode()
        if source.knowledge == "native":
            assert curated[document] == body
        else:  # markdown: one section per record, the same values as the records
            assert (source.format, source.knowledge) == ("jsonl", "markdown")
            rendered = [fields for _, fields in parse_markdown(text)]
            assert rendered == [as_written(json.loads(line)) for line in body.decode().splitlines()]
        attributes = json.loads(curated[f"{document}.metadata.json"])["metadataAttributes"]
        assert attributes == {
            "usecase": "customer-retention",
            "dataset": DATASET,
            "source": source.name,
            "format": source.format,
            "records": record_count(records_key, body),
            "bias_status": report_status,
        }
    assert set(documents(curated)) == set(expected)  # every document comes from published records, one each
    by_source = {k.split("/")[2] for k in documents(curated)}
    assert by_source == {"profiles", "purchases", "support_contacts", "feedback"}  # service_events: knowledge none
    assert any(k.endswith(".jsonl.md") for k in documents(curated))
    assert any(k.endswith((".txt", ".md")) and "/feedback/" in k for k in documents(curated))


def test_the_report_finds_the_planted_group_imbalance(first_run):
    profile = first_run["report"]["profile"]
    age = profile["groups"]["age_band"]
    shares = {row["group"]: row["share"] for row in age["representation"]}
    assert shares["55+"] == pytest.approx(16 / 200)
    assert age["psi"]["status"] == "WARN"
    region = profile["groups"]["region"]["outcome"]
    assert region["rates"]["west"] == pytest.approx(0.66)
    assert region["parity_difference"]["value"] == pytest.approx(0.82 - 0.66)
    assert profile["status"] == "WARN"
    assert profile["pii"]["entities"]["EMAIL"] > 200
    assert "| 55+ | 16 | 8.0% | 22.0% |" in first_run["markdown"]


def test_one_comprehend_request_per_part_chunk(pipeline, first_run):
    # The 102 ticket notes are one object cut into parts, each well under chunk_bytes: one request for all
    # the notes of a part. Each of the 7 feedback documents that passed validation (6 comments and the card
    # one) is its own object.
    requests = first_run["requests"]
    parts = len(parts_of(pipeline, "run-1", "support_contacts/tickets-2024h1.jsonl"))
    assert parts >= 3
    assert len(requests) == parts + 7
    tickets = [text for text in requests if "called about" in text]
    assert len(tickets) == parts
    assert sum(text.count("\n\n") + 1 for text in tickets) >= 60  # many notes, one request per part


def parts_of(pipeline: dict[str, Any], run_id: str, relative: str) -> list[str]:
    prefix = rows.parts_prefix(run_id, f"datasets/{DATASET}/{relative}", "rows")
    pages = pipeline["deployment"].s3.get_paginator("list_objects_v2").paginate(Bucket=pipeline["raw"], Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_big_objects_took_the_fanout_route_and_small_ones_the_whole_object_route(pipeline, first_run):
    for relative, body in pipeline["files"].items():
        parts = parts_of(pipeline, "run-1", relative)
        if relative in FANNED_OUT:
            assert len(body) > FANOUT_BYTES
            assert len(parts) >= 2, relative
        else:
            assert len(body) <= FANOUT_BYTES, relative
            assert parts == [], relative
    calls = pipeline["dispatcher"].calls
    assert calls.count("pipeline.split") >= len(FANNED_OUT)  # per run
    assert calls.count("pipeline.assemble") >= len(FANNED_OUT)
    assert calls.count("pipeline.part") >= 2 * len(FANNED_OUT)
    # Within one object, many parts apart: profiles/part-000.jsonl repeats line 11 as line 101.
    rejects = first_run["quarantine"][f"datasets/{DATASET}/profiles/part-000.jsonl.validate-rejects.jsonl"]
    duplicates = [json.loads(line) for line in rejects.decode().splitlines() if "same object" in line]
    assert [sorted((d["position"], int(d["reason"].split("of record ")[1].split()[0]))) for d in duplicates] == [
        [11, 101]
    ]


def test_a_rerun_of_the_same_input_gives_the_same_keys_and_no_duplicates(pipeline, first_run):
    described = run(pipeline, "run-2")
    assert described["status"] == "SUCCEEDED", described.get("cause")
    deployment = pipeline["deployment"]
    curated = objects(deployment.s3, deployment.bucket("Curated"))
    assert curated.keys() == first_run["curated"].keys()
    assert curated == first_run["curated"]
    report = json.loads(
        deployment.s3.get_object(Bucket=deployment.bucket("Reports"), Key=f"reports/{DATASET}/run-2/report.json")[
            "Body"
        ].read()
    )
    assert report["conservation"] == first_run["report"]["conservation"]

"""Row fan-out (lambdas/pipeline/rows.py, split.py, part.py, assemble.py) against moto: a dataset run twice
through the handlers, once whole-object and once with a tiny `row_fanout_bytes` so every CSV and JSONL object
is streamed from S3 and cut into parts of a few rows, each validated and redacted on its own, must give the
same ledger counts, curated objects, documents and quarantine (reasons and positions), and balance. The
splitter's own properties are checked with Hypothesis: every row whole, in order, in parts within the
limit, and the parts validated with their offsets give what the whole object gives."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from common.clients import client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from pipeline import (
    assemble,
    assess,
    finalize,
    keys,
    part,
    profile,
    publish,
    quarantine,
    redact,
    rows,
    runtime,
    split,
    validate,
)
from pipeline.contract import Limits, PipelineSettings, SourceSpec
from pipeline.errors import Throttled
from pipeline.ledger import Ledger
from pipeline.models import Item
from pipeline.validation import ObjectRejected, validate_bytes, validate_object

from tests.lambdas.pipeline.harness import LambdaContext, PiiResponder, data_settings, settings_environment
from tools.generate_sample_data import generate

RAW, QUARANTINE, CURATED, REPORTS = "raw", "quarantine", "curated", "reports"
PART_BYTES = 1024  # the smallest row_fanout_bytes data.yaml allows: a few rows per part


def wire() -> dict[str, Any]:
    """The use case's settings with a tiny fan-out threshold, and purchases declared latin-1."""
    settings = data_settings().contract().wire()
    settings["limits"]["row_fanout_bytes"] = PART_BYTES
    settings["sources"]["purchases"]["encoding"] = "latin-1"
    return settings


def contract() -> PipelineSettings:
    return PipelineSettings.model_validate(wire())


def orders(first: int, count: int, *, crlf: bool = False) -> bytes:
    """A latin-1 purchases CSV: quoted fields spanning lines near every part boundary, blank rows (empty, only
    commas, only spaces), a row of the wrong width, a latin-1 character, an order repeated far apart."""
    end = "\r\n" if crlf else "\n"
    lines = ["order_id,customer_id,service,amount,purchased_on"]
    for n in range(first, first + count):
        service = f'"smart{end}home {n}"' if n % 7 == 0 else ("caf\xe9 plan" if n % 5 == 0 else "streaming")
        lines.append(f"O{n:06d},C{n % 90:05d},{service},{n % 400}.50,2024-03-{1 + n % 28:02d}")
        if n % 11 == 0:
            lines.append(["", ",,,,", "   "][n % 3])
        if n % 13 == 0:
            lines.append(f"O{n:06d}x,C1,too,few")
    lines.append(f"O{first + 3:06d},C00001,streaming,1.00,2024-03-01")  # duplicate key, many parts apart
    return (end.join(lines) + end).encode("latin-1")


def events() -> bytes:
    """A service_events JSONL object with a malformed line, blank lines and a CRLF ending among good lines."""
    good = (
        '{{"customer_id":"C{0:05d}","session_id":"s{0}","service":"streaming","event":"view",'
        '"at":"2024-05-01T10:00:00"}}'
    )
    lines = [good.format(n) for n in range(60)]
    lines[17] = '{"customer_id": "C1", "session_id": '  # malformed JSON
    lines[30] = ""
    lines[31] = "   "
    lines[44] = good.format(44) + "\r"
    return ("\n".join(lines) + "\n").encode()


def dataset() -> dict[str, bytes]:
    files = {k: v for k, v in generate().items() if not k.startswith("feedback/")}  # text never fans out
    files["purchases/orders-2024h2.csv"] = orders(1000, 120)
    files["purchases/orders-2024h3.csv.gz"] = gzip.compress(orders(2000, 400, crlf=True))
    files["service_events/extra.jsonl"] = events()
    files["support_contacts/tickets-copy.jsonl.gz"] = gzip.compress(generate()["support_contacts/tickets-2024h1.jsonl"])
    return files


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # the salt belongs to this mock
        s3 = boto3.client("s3")
        for name in (RAW, QUARANTINE, CURATED, REPORTS):
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
        secret = boto3.client("secretsmanager").create_secret(Name="salt", SecretString="pepper" * 10)["ARN"]
        env = {
            "QUARANTINE_BUCKET": QUARANTINE,
            "CURATED_BUCKET": CURATED,
            "REPORTS_BUCKET": REPORTS,
            "LEDGER_TABLE": "ledger",
            "CLAIMS_TABLE": "claims",
            "HASH_SALT_SECRET_ARN": secret,
            "USECASE_ID": "customer-retention",
            **settings_environment(tmp_path_factory.mktemp("settings"), wire()),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        comprehend = client("comprehend")
        responder = PiiResponder().install(comprehend)
        yield s3
        responder.uninstall(comprehend)
        parameters.clear_caches()  # type: ignore[no-untyped-call]


def call(module: Any, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = module.handler(event, LambdaContext(module.__name__))
    return result


def run_of(name: str) -> dict[str, Any]:
    return {
        "id": f"run-{name}",
        "dataset": name,
        "bucket": RAW,
        "prefix": f"datasets/{name}/",
        "valid_prefix": f"staging/run-{name}/valid/",
        "redacted_prefix": f"staging/run-{name}/redacted/",
        "started_at": "2024-06-01T00:00:00+00:00",
    }


def listed(s3: Any, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def whole_path(item: dict[str, Any]) -> None:
    validated = call(validate, item)
    call(profile, call(redact, validated))


def process_object(s3: Any, item: dict[str, Any], fan_out: bool, *, reverse: bool = False) -> int:
    """One ProcessObjects child as the state machine runs it; the parts the object was cut into (0: whole).

    RouteBySize: over row_fanout_bytes -> split, whose route picks parts, quarantine or validate."""
    if not fan_out or item["size"] <= PART_BYTES:
        whole_path(item)
        return 0
    parted = call(split, item)
    if parted["route"] == "whole":
        whole_path(parted)
        return 0
    if parted["route"] == "rejected":
        call(quarantine, {"phase": "process", "failed": parted})
        return 0
    parts = listed(s3, RAW, parted["parts_prefix"])
    assert len(parts) == parted["parts"]
    selector = {k: parted[k] for k in ("key", "run", "source", "encoding")}
    for key in reversed(parts) if reverse else parts:  # ItemSelector: the part's key, the object's fields
        answer = call(part, {"part": key, **selector})
        assert set(answer) >= {"part", "rows_in", "valid", "rejected", "redacted"}  # counts, never content
    call(profile, call(assemble, parted))
    return len(parts)


def run_dataset(s3: Any, name: str, files: dict[str, bytes], fan_out: bool, *, reverse: bool = False) -> dict[str, Any]:
    run = run_of(name)
    for relative, body in files.items():
        s3.put_object(Bucket=RAW, Key=f"{run['prefix']}{relative}", Body=body)
    parts = {
        relative: process_object(
            s3, {"key": f"{run['prefix']}{relative}", "size": len(body), "run": run}, fan_out, reverse=reverse
        )
        for relative, body in sorted(files.items())  # one order for both runs: cross-object claims agree
    }
    assessment = call(assess, {"run": run})
    for staged in listed(s3, RAW, run["redacted_prefix"]):
        call(publish, {"key": staged, "run": run, "bias_status": assessment["status"]})
    final = call(finalize, {"run": run, "assessment": assessment, "published": True})
    return {"run": run, "parts": parts, "final": final}


def contents(s3: Any, bucket: str, prefixes: list[str], name: str) -> dict[str, bytes]:
    """The objects under the dataset's prefixes, keys and bodies with the dataset and run named alike."""
    found = {}
    for prefix in prefixes:
        for key in listed(s3, bucket, prefix):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            found[key.replace(name, "DS")] = body.replace(f"run-{name}".encode(), b"RUN").replace(name.encode(), b"DS")
    return found


def quarantined(s3: Any, name: str, relative: str, step: str = "validate") -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=QUARANTINE, Key=f"datasets/{name}/{relative}.{step}-rejects.jsonl")["Body"].read()
    return [json.loads(line) for line in body.splitlines()]


def test_a_fanned_out_dataset_gives_exactly_what_the_whole_object_path_gives(aws):
    files = dataset()
    whole = run_dataset(aws, "whole", files, fan_out=False)
    fanned = run_dataset(aws, "fanned", files, fan_out=True)
    # Every CSV and JSONL object over the threshold went through parts, most of them several.
    assert fanned["parts"]["profiles/part-000.jsonl"] >= 20
    assert fanned["parts"]["purchases/orders-2024h1.csv"] >= 5
    assert fanned["parts"]["purchases/orders-2024h2.csv"] >= 5
    assert fanned["parts"]["purchases/orders-2024h3.csv.gz"] >= 3
    assert fanned["parts"]["support_contacts/tickets-copy.jsonl.gz"] >= 3
    assert fanned["parts"]["service_events/extra.jsonl"] >= 5
    assert fanned["parts"]["purchases/legacy-export.parquet"] == 0  # 22 bytes: under the threshold
    ledger = Ledger(boto3.client("dynamodb"), "ledger")
    counts = ledger.counts("run-fanned")
    assert counts == ledger.counts("run-whole")
    assert counts["pii|EMAIL"] > 0
    assert counts["skipped_blank"] >= 5
    assert counts["encoding|purchases|latin-1"] == 3  # the three CSV objects (the parquet one: rejected)
    for result in (whole, fanned):
        summary = result["final"]["summary"]
        assert summary["records_in"] == summary["records_curated"] + summary["records_quarantined"]
        report = json.loads(aws.get_object(Bucket=REPORTS, Key=summary["report"]["json"])["Body"].read())
        assert report["conservation"]["holds"] is True
        assert report["conservation"]["rows_in"] == (
            report["conservation"]["curated"] + report["conservation"]["quarantined"] + counts["skipped_blank"]
        )
    assert fanned["final"]["summary"]["records_curated"] > 0
    datasets = {name: [f"records/{name}/", f"documents/{name}/"] for name in ("whole", "fanned")}
    assert contents(aws, CURATED, datasets["fanned"], "fanned") == contents(aws, CURATED, datasets["whole"], "whole")
    # Quarantine: the same rejects (reasons and positions, rows of the uploaded object) and whole objects.
    assert contents(aws, QUARANTINE, ["datasets/fanned/"], "fanned") == contents(
        aws, QUARANTINE, ["datasets/whole/"], "whole"
    )
    # The sample repeats line 11 of profiles/part-000.jsonl as line 101: many parts apart, found by the claims.
    rejects = quarantined(aws, "fanned", "profiles/part-000.jsonl")
    assert any(r["position"] == 101 and r["reason"].endswith("of record 11 in the same object") for r in rejects)
    by_position = {r["position"]: r["reason"] for r in quarantined(aws, "fanned", "service_events/extra.jsonl")}
    assert by_position[18].startswith("invalid JSON")
    csv_rejects = {r["position"]: r["reason"] for r in quarantined(aws, "fanned", "purchases/orders-2024h2.csv")}
    assert any(reason.endswith("in the same object") for reason in csv_rejects.values())
    assert any(reason == "row has 4 values, the header 5" for reason in csv_rejects.values())


def test_which_copy_of_a_duplicate_is_kept_depends_on_which_part_claims_first(aws):
    """Parts run concurrently: exactly one copy is kept, the other names it; the counts are the same."""
    body = generate()["profiles/part-000.jsonl"]
    forward = run_of("forward")
    backward = run_of("backward")
    for run, reverse in ((forward, False), (backward, True)):
        aws.put_object(Bucket=RAW, Key=f"{run['prefix']}profiles/part-000.jsonl", Body=body)
        item = {"key": f"{run['prefix']}profiles/part-000.jsonl", "size": len(body), "run": run}
        assert process_object(aws, item, fan_out=True, reverse=reverse) >= 20
    ledger = Ledger(boto3.client("dynamodb"), "ledger")
    assert ledger.counts("run-forward") == ledger.counts("run-backward")
    (first,) = [r for r in quarantined(aws, "forward", "profiles/part-000.jsonl") if "same object" in r["reason"]]
    (last,) = [r for r in quarantined(aws, "backward", "profiles/part-000.jsonl") if "same object" in r["reason"]]
    assert (first["position"], last["position"]) == (101, 11)
    assert first["reason"].endswith("of record 11 in the same object")
    assert last["reason"].endswith("of record 101 in the same object")
    assert first["record"] == body.splitlines()[100].decode()  # as read, as validate quarantines it


def test_a_part_that_fails_leaves_nothing_counted_and_the_object_is_assembled_only_complete(aws):
    run = run_of("broken")
    body = generate()["profiles/part-000.jsonl"]
    key = f"{run['prefix']}profiles/part-000.jsonl"
    aws.put_object(Bucket=RAW, Key=key, Body=body)
    parted = call(split, {"key": key, "size": len(body), "run": run})
    assert (parted["route"], parted["records_in"], parted["skipped_blank"]) == ("parts", 101, 0)
    first, *rest = listed(aws, RAW, parted["parts_prefix"])
    call(part, {"part": first, **{k: parted[k] for k in ("key", "run", "source", "encoding")}})
    assert rest  # one part done, the others not: assemble refuses, the Catch quarantines the object whole
    with pytest.raises(ClientError, match="NoSuchKey"):
        call(assemble, parted)
    assert Ledger(boto3.client("dynamodb"), "ledger").counts(run["id"]) == {}  # parts commit nothing
    assert listed(aws, RAW, run["redacted_prefix"]) == []  # nothing for publish
    # The Catch hands quarantine the split's answer: the object's rows are counted, not one record.
    call(quarantine, {"phase": "process", "failed": {**parted, "error": {"Error": "States.TaskFailed"}}})
    counts = Ledger(boto3.client("dynamodb"), "ledger").counts(run["id"])
    assert (counts["rows_in"], counts["quarantined"], counts["objects_quarantined"]) == (101, 101, 1)


def split_and_part(aws: Any, name: str, body: bytes) -> tuple[dict[str, Any], str]:
    """An object split and every part processed; its parted answer and the key of part 0's counts."""
    run = run_of(name)
    key = f"{run['prefix']}profiles/part-000.jsonl"
    aws.put_object(Bucket=RAW, Key=key, Body=body)
    parted = call(split, {"key": key, "size": len(body), "run": run})
    for number in listed(aws, RAW, parted["parts_prefix"]):
        call(part, {"part": number, **{k: parted[k] for k in ("key", "run", "source", "encoding")}})
    return parted, rows.part_key(run["id"], key, "counts", 0)


def rewrite(aws: Any, key: str, **changes: int) -> None:
    """Part counts file ``key`` with each of ``changes`` added to its counter."""
    counts = json.loads(aws.get_object(Bucket=RAW, Key=key)["Body"].read())
    changed = counts | {name: counts[name] + delta for name, delta in changes.items()}
    aws.put_object(Bucket=RAW, Key=key, Body=json.dumps(changed).encode())


def test_assemble_refuses_parts_that_do_not_add_up_to_the_split_and_an_object_not_split(aws):
    body = generate()["profiles/part-000.jsonl"] + b"\n\n"  # 101 records and 2 blank rows
    parted, counts = split_and_part(aws, "uneven", body)
    key = parted["key"]
    assert (parted["rows_in"], parted["records_in"], parted["skipped_blank"]) == (103, 101, 2)
    rewrite(aws, counts, rows_in=2, records_in=1, skipped_blank=1)  # a part read a record and a blank row more
    expected = f"{key}: the parts read 105 rows (102 records, 3 blank), the split cut 103 (101 records, 2 blank)"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        call(assemble, parted)
    refused = f"{key}: only a split object is assembled (the state machine routes it)"
    with pytest.raises(ValueError, match=f"^{re.escape(refused)}$"):
        call(assemble, {**parted, "route": "whole"})


def test_assemble_refuses_parts_whose_redacted_and_redact_rejected_do_not_make_the_valid(aws):
    parted, counts = split_and_part(aws, "unredacted", generate()["profiles/part-000.jsonl"])
    rewrite(aws, counts, redact_rejected=2)  # two records counted twice: redacted and refused
    expected = f"{parted['key']}: parts redacted 102 of 100"  # of 101 records, validate rejects 1 (planted)
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        call(assemble, parted)


def test_a_parts_redact_rejects_are_assembled_into_the_objects_quarantine_file(aws):
    parted, counts = split_and_part(aws, "refused", generate()["profiles/part-000.jsonl"])
    # Comprehend refused one record of part 0 (after 3 requests), and one was a whole-record repeat (kept, counted).
    rewrite(aws, counts, redacted=-1, redact_rejected=1, repeated=1, requests=3, records_with_pii=2)
    refused = b'{"position": 2, "reason": "Comprehend refused the record"}\n'
    run = parted["run"]
    aws.put_object(Bucket=RAW, Key=rows.part_key(run["id"], parted["key"], "redact-rejects", 0), Body=refused)
    assembled = call(assemble, parted)
    assert (assembled["redacted"], assembled["redact_rejected"], assembled["valid"]) == (99, 1, 100)
    # Every counter is the sum over the parts' counts files, added up here from the files themselves.
    parts = [
        json.loads(aws.get_object(Bucket=RAW, Key=rows.part_key(run["id"], parted["key"], "counts", n))["Body"].read())
        for n in range(parted["parts"])
    ]
    summed = (
        "rows_in",
        "records_in",
        "rejected",
        "valid",
        "skipped_blank",
        "repeated",
        "redacted",
        "redact_rejected",
        "records_with_pii",
        "requests",
    )
    assert {name: assembled[name] for name in summed} == {name: sum(p[name] for p in parts) for name in summed}
    assert (assembled["repeated"], assembled["size"]) == (1, parted["size"])
    assert assembled["requests"] >= 3  # the tampered part's counts are in
    assert assembled["records_with_pii"] >= 2
    quarantined = aws.get_object(Bucket=QUARANTINE, Key=keys.rejects_key(parted["key"], "redact"))["Body"].read()
    assert quarantined == refused


# Ids are the object names: a body in the id would differ between xdist workers wherever its bytes do (gzip's mtime).
REJECTED_WHOLE = [
    ("purchases/bad.csv", b"order_id;customer_id\n" + b"O1;C1\n" * 400, "does not match the schema", (400, 0)),
    (  # counted from the decompressed rows, as validate counts them
        "purchases/bad.csv.gz",
        gzip.compress(b"order_id;customer_id\n" + b"O1;C1\n" * 400, mtime=0),
        "does not match the schema",
        (400, 0),
    ),
    ("profiles/binary.jsonl", b'{"a": 1}\n' * 200 + b"\x00\n" + b"\n" * 3, "NUL byte at offset 1800", (201, 3)),
    ("profiles/latin.jsonl", b'{"a": "\xe9"}\n' * 200, "not UTF-8: byte 0xe9 at offset 7", (200, 0)),
    ("profiles/spaces.jsonl", b" \n" * 1000, "object holds only whitespace", (1, 0)),
    (
        "purchases/header.csv",
        b"order_id,customer_id,service,amount,purchased_on\n" + b",,,,\n" * 300,
        "no records",
        (1, 0),
    ),
    (
        "profiles/broken.jsonl.gz",
        gzip.compress(b'{"a": 1}\n' * 300, mtime=0)[:-8] + b"x" * 2000,
        "not a readable gzip",
        (1, 0),
    ),
]


@pytest.mark.parametrize(("relative", "body", "reason", "counted"), REJECTED_WHOLE, ids=[c[0] for c in REJECTED_WHOLE])
def test_what_validate_rejects_whole_the_split_rejects_whole_with_its_reason_and_rows(
    aws, relative, body, reason, counted
):
    run = run_of("unsplittable")
    key = f"{run['prefix']}{relative}"
    aws.put_object(Bucket=RAW, Key=key, Body=body)
    parted = call(split, {"key": key, "size": len(body), "run": run})
    assert parted["route"] == "rejected"
    assert parted["error"]["Error"] == "ObjectRejected"
    assert reason in parted["error"]["Cause"]
    assert (parted["records_in"], parted["skipped_blank"]) == counted
    assert (parted["source"], parted["rows_in"]) == (relative.split("/")[0], sum(counted))  # blank rows are rows
    if not relative.endswith(".gz"):  # what validate says of the same bytes
        source = contract().sources[keys.parse_raw_key(key).source or ""]
        with pytest.raises(ObjectRejected) as whole:
            validate_bytes(body, source, contract().limits)
        assert reason in whole.value.reason
        assert (whole.value.records, whole.value.skipped_blank) == counted


def test_an_object_over_the_fanout_cap_is_rejected_unread_and_text_goes_to_validate(aws):
    run = run_of("cap")
    cap = contract().limits.max_fanout_object_bytes
    parted = call(split, {"key": f"{run['prefix']}profiles/huge.jsonl", "size": cap + 1, "run": run})  # never read
    assert parted["route"] == "rejected"
    assert parted["error"]["Cause"] == (
        f"object of {cap + 1} bytes exceeds max_fanout_object_bytes {cap}: too large to split into parts"
    )
    assert (parted["records_in"], parted["skipped_blank"]) == (1, 0)
    with pytest.raises(ClientError, match="NoSuchKey"):  # exactly at the cap it is read (and here not there)
        call(split, {"key": f"{run['prefix']}profiles/huge.jsonl", "size": cap, "run": run})
    for relative in ("feedback/long.txt", "profiles/a.parquet", "nowhere/a.jsonl", "profiles/a.csv"):
        answer = call(split, {"key": f"{run['prefix']}{relative}", "size": 5000, "run": run})
        assert answer["route"] == "whole", relative  # validate gives it its reason
        assert "parts" not in answer or answer["parts"] == 0


# --- the splitter on its own --------------------------------------------------------------------------


class Trickle(io.RawIOBase):
    """A stream that answers every read with at most ``step`` bytes, as a network stream may."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._at = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        end = self._at + (self._step if size < 0 else min(size, self._step))
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk


def cut(
    data: bytes, source: SourceSpec, limits: Limits, part_bytes: int, **options: Any
) -> list[tuple[int, int, bytes]]:
    found: list[tuple[int, int, bytes]] = []
    rows.split_object(
        io.BytesIO(data),
        source,
        limits,
        part_bytes=part_bytes,
        write=lambda *p: found.append(p),
        **{"gzipped": False} | options,
    )
    return found


def same_as_whole(data: bytes, source: SourceSpec, limits: Limits, parts: list[tuple[int, int, bytes]]) -> None:
    """The parts validated with their offsets give what validate gives the whole object (duplicates across
    parts aside: the claims find those)."""
    whole = validate_bytes(data, source, limits)
    valid, rejects, blank = [], [], 0
    for _, offset, body in parts:
        result = validate_object(body.decode(), source, limits, offset=offset, part=True)
        valid += [(v.position, v.record) for v in result.valid]
        rejects += [(r.position, r.reason, r.raw) for r in result.rejects]
        blank += result.skipped_blank
    assert [(v.position, v.record) for v in whole.valid] == valid
    assert [(r.position, r.reason, r.raw) for r in whole.rejects] == rejects
    assert whole.skipped_blank == blank


SOURCE = SourceSpec(
    name="s",
    format="csv",
    fields=tuple(  # order_id, customer_id, service: optional strings, so cells of any text read
        f.model_copy(update={"required": False, "max_length": None}) for f in contract().sources["purchases"].fields[:3]
    ),
    knowledge="none",
    dedupe="none",
)
LIMITS = Limits(max_object_bytes=1 << 20, max_record_bytes=200, max_document_bytes=1000, row_fanout_bytes=1024)
cells = st.text(alphabet=st.sampled_from(list('ab ,"\r\né\u2028')), max_size=12)
csv_rows = st.lists(
    st.one_of(
        st.tuples(cells, cells, cells).map(lambda t: ",".join('"' + c.replace('"', '""') + '"' for c in t)),
        cells,  # anything, quotes unbalanced included
    ),
    min_size=1,
    max_size=25,
)
ends = st.sampled_from(["\n", "\r\n", "\r"])
jsonl_lines = st.lists(
    st.one_of(
        st.just(""),
        st.just("  "),
        st.just('{"a": 1}'),
        st.text(alphabet=st.sampled_from(list('{}": a1é\x85\u2028\x0c')), max_size=20),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_rows, ends, st.integers(min_value=40, max_value=300), st.integers(min_value=1, max_value=9))
def test_csv_parts_hold_every_row_whole_in_order_within_the_limit(body, end, part_bytes, step):
    text = end.join(["order_id,customer_id,service", *body]) + end
    data = text.encode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "CHUNK_BYTES", step)  # a CR, an LF or a character split across reads
        try:
            parts = cut(data, SOURCE, LIMITS, part_bytes)
        except rows.Unsplittable as rejected:  # no record at all: validate rejects it alike
            with pytest.raises(ObjectRejected, match=rejected.reason):
                validate_bytes(data, SOURCE, LIMITS)
            return
        streamed: list[tuple[int, int, bytes]] = []
        rows.split_object(
            Trickle(data, step),
            SOURCE,
            LIMITS,
            gzipped=False,
            part_bytes=part_bytes,
            write=lambda *p: streamed.append(p),
        )
    assert streamed == parts
    header = io.StringIO(text, newline="").readline()  # the header line, as csv.reader reads it
    # A part ends a CR-ended header with CRLF: its first row may be a blank "\n" line.
    header_in_parts = (header + "\n" if header.endswith("\r") else header).encode()
    assert [n for n, _, _ in parts] == list(range(len(parts)))
    joined = b""
    for _, offset, part_body in parts:
        assert part_body.startswith(header_in_parts)
        joined += part_body[len(header_in_parts) :]
        result = validate_object(part_body.decode(), SOURCE, LIMITS, offset=offset, part=True)
        assert len(part_body) <= part_bytes or result.rows == 1  # a larger row travels alone
    assert header.encode() + joined == data  # every row, whole and in order
    same_as_whole(data, SOURCE, LIMITS, parts)


JSONL = SourceSpec(
    name="j",
    format="jsonl",
    fields=(SOURCE.fields[0].model_copy(update={"name": "a", "type": "integer"}),),
    knowledge="none",
)


@settings(max_examples=150, deadline=None)
@given(jsonl_lines, ends, st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=9), st.booleans())
def test_jsonl_parts_hold_every_line_whole_in_order_within_the_limit(lines, end, part_bytes, step, gzipped):
    text = end.join(lines) + (end if len(lines) % 2 else "")
    data = text.encode()
    stored = gzip.compress(data) if gzipped else data
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rows, "CHUNK_BYTES", step)
        try:
            parts = cut(stored, JSONL, LIMITS, part_bytes, gzipped=gzipped)
        except rows.Unsplittable as rejected:  # empty, only whitespace, no record: validate rejects it alike
            with pytest.raises(ObjectRejected, match=rejected.reason):
                validate_bytes(data, JSONL, LIMITS)
            return
    assert b"".join(body for _, _, body in parts) == data
    offset = 0
    for _, start, body in parts:
        lines_in = body.decode().splitlines()
        assert start == offset
        offset += len(lines_in)
        assert len(body) <= part_bytes or len(lines_in) == 1  # a longer line travels alone
    assert offset == len(text.splitlines())
    same_as_whole(data, JSONL, LIMITS, parts)


def test_a_latin1_object_is_decoded_as_declared_and_its_parts_are_utf8():
    source = contract().sources["purchases"].model_copy(update={"dedupe": "none"})  # claims find duplicates
    data = orders(1, 60)
    parts = cut(data, source, contract().limits, 300)
    assert len(parts) > 5
    assert all(body.decode("utf-8") for _, _, body in parts)
    assert "café plan" in b"".join(body for _, _, body in parts).decode()
    same_as_whole(data, source, contract().limits, parts)


def test_a_utf8_bom_is_dropped_and_an_encoding_auto_object_is_detected_from_its_start():
    profiles = contract().sources["profiles"]
    body = generate()["profiles/part-000.jsonl"]
    parts = cut(codecs.BOM_UTF8 + body, profiles, contract().limits, 2000)
    assert b"".join(p for _, _, p in parts) == body
    auto = profiles.model_copy(update={"encoding": "auto"})
    line = '{{"customer_id": "C{0:05d}", "full_name": "Jos\xe9 M\xfcller"}}'
    latin = "\n".join(line.format(n) for n in range(200)).encode("cp1252")
    found: list[Any] = []
    result = rows.split_object(
        io.BytesIO(latin), auto, contract().limits, gzipped=False, part_bytes=2000, write=lambda *p: found.append(p)
    )
    whole = validate_bytes(latin, auto, contract().limits)
    assert result.encoding == whole.encoding != "utf-8"  # whatever charset-normalizer picks, both pick it
    assert b"".join(p for _, _, p in found).decode() == latin.decode(whole.encoding)


def test_a_throttled_read_of_the_object_is_throttled():
    s3 = boto3.client("s3", region_name="eu-west-1")
    with Stubber(s3) as stubber:
        stubber.add_client_error("get_object", "SlowDown", "reduce your request rate", http_status_code=503)
        with pytest.raises(Throttled, match=r"^GetObject: reduce your request rate$"):
            split._Reader(s3, "raw", "datasets/d/profiles/a.jsonl").open()


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_csv_refused_at_its_header_and_not_utf8_further_on_is_rejected_for_the_decoding(aws, suffix):
    # validate decodes first, so the decoding is its reason and the rows are counted from the bytes; the splitter
    # decodes a read at a time and meets the header first (the bad byte is a read further on), and must come to
    # the same answer.
    shipped = contract()
    utf8 = shipped.sources["purchases"].model_copy(update={"encoding": "utf-8"})
    utf8_purchases = shipped.model_copy(update={"sources_": {**shipped.sources, "purchases": utf8}})
    lines = rows.CHUNK_BYTES // 6 + 1
    body = b"order_id;customer_id\n" + b"O1;C1\n" * lines + b"\xff\n"
    run = run_of("late")
    key = f"{run['prefix']}purchases/late.csv{suffix}"
    stored = gzip.compress(body) if suffix else body  # counted from the decompressed bytes either way
    aws.put_object(Bucket=RAW, Key=key, Body=stored)
    item = Item.model_validate({"key": key, "size": len(stored), "run": run})
    parted = split.process(item, settings=utf8_purchases, s3=aws, storage=runtime.storage())
    with pytest.raises(ObjectRejected) as whole:
        validate_bytes(body, utf8, shipped.limits)
    assert whole.value.reason.startswith(f"not UTF-8: byte 0xff at offset {21 + 6 * lines}")
    assert (parted.route, parted.error.Cause if parted.error else None) == ("rejected", whole.value.reason)
    assert (
        (parted.records_in, parted.skipped_blank) == (whole.value.records, whole.value.skipped_blank) == (lines + 1, 0)
    )

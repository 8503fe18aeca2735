"""Publish step, exact bytes and edges: what consumers and the knowledge base read is pinned byte for byte
(expected values written by hand), and `process`'s result and ledger commit are checked field by field."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pipeline import keys, publish
from pipeline.models import PublishItem

from tests.lambdas.pipeline.harness import pipeline_settings
from tests.lambdas.pipeline.test_dedupe import RUN

SETTINGS = pipeline_settings()
TICKETS = SETTINGS.sources["support_contacts"]
FEEDBACK = SETTINGS.sources["feedback"]
TICKET = {"ticket_id": "T1", "customer_id": "C1", "channel": "phone", "topic": "billing", "resolved": True}
LIMIT = 50_000_000  # Bedrock knowledge bases ingest files up to 50 MB


class MemoryStorage:
    """The `Storage` calls of the publish step in memory, keyed (bucket, key); written objects keep their
    content type, JSON goes through `json` as `Storage.write_json` does."""

    def __init__(self, objects: Mapping[tuple[str, str], bytes]) -> None:
        self.objects = dict(objects)
        self.written: dict[tuple[str, str], Any] = {}  # (body, content type), or the JSON value

    def read_jsonl(self, bucket: str, key: str) -> Iterator[dict[str, Any]]:
        return (json.loads(line) for line in self.objects[(bucket, key)].decode().splitlines() if line)

    def write(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.written[(bucket, key)] = (body, content_type)

    def write_json(self, bucket: str, key: str, value: Mapping[str, Any]) -> None:
        self.written[(bucket, key)] = json.loads(json.dumps(value))


class RecordingLedger:
    """The process step's marker (what `marker` answers) and every commit, as its arguments."""

    def __init__(self, markers: Mapping[tuple[str, str], dict[str, Any]]) -> None:
        self.markers = dict(markers)
        self.commits: list[tuple[str, str, str, str, dict[str, int], dict[str, Any]]] = []

    def marker(self, run_id: str, phase: str, key: str) -> dict[str, Any] | None:
        return self.markers.get((phase, key))

    def commit(
        self, run_id: str, phase: str, key: str, *, outcome: str, counts: dict[str, int], detail: dict[str, Any]
    ) -> bool:
        self.commits.append((run_id, phase, key, outcome, counts, detail))
        return True


def publish_one(
    raw_key: str, rows: list[dict[str, Any]], outcome: str | None = "processed"
) -> tuple[dict[str, Any], MemoryStorage, RecordingLedger]:
    """Publish the staged rows of ``raw_key``, its process marker saying ``outcome`` (None: no marker)."""
    staged = f"staging/r1/redacted/{raw_key}.jsonl"
    body = "".join(json.dumps({"p": p, "r": r}) + "\n" for p, r in enumerate(rows, start=1)).encode()
    storage = MemoryStorage({("raw", staged): body})
    ledger = RecordingLedger({} if outcome is None else {("process", raw_key): {"outcome": outcome}})
    result = publish.process(
        PublishItem(key=staged, run=RUN, bias_status="PASS"),
        settings=SETTINGS,
        storage=storage,  # type: ignore[arg-type]
        ledger=ledger,  # type: ignore[arg-type]
        curated_bucket="curated",
        usecase="uc",
    )
    return result, storage, ledger


# ------------------------------------------------------------------------------------------------ render


def test_json_lines_are_compact_and_keep_non_ascii_text():
    records: list[dict[str, Any]] = [
        {"ticket_id": "T1", "notes": "caf\u00e9 \u2013 ok"},
        {"ticket_id": "T2", "resolved": False},
    ]
    body, content_type = publish.render(records, TICKETS, ".jsonl")
    assert content_type == "application/x-ndjson"
    assert body == (b'{"ticket_id":"T1","notes":"caf\xc3\xa9 \xe2\x80\x93 ok"}\n{"ticket_id":"T2","resolved":false}\n')


def test_a_text_document_of_more_than_one_record_is_refused_with_the_count():
    with pytest.raises(ValueError, match=r"^a text document is one record, got 2$"):
        publish.render([{"text": "a"}, {"text": "b"}], FEEDBACK, ".txt")
    with pytest.raises(ValueError, match=r"^a text document is one record, got 0$"):
        publish.render([], FEEDBACK, ".txt")


def test_csv_cells_write_booleans_as_true_and_false():
    body = publish.render_csv([TICKET, TICKET | {"resolved": False, "notes": "n"}], TICKETS)
    assert body == (
        b"ticket_id,customer_id,channel,topic,resolved,notes\nT1,C1,phone,billing,true,\nT1,C1,phone,billing,false,n\n"
    )


# ---------------------------------------------------------------------------------------------- markdown


def test_the_markdown_document_of_one_record_byte_for_byte():
    # A nested path is named in full; one record is singular; CRLF and CR in a value become indented lines.
    rows = [(7, TICKET | {"notes": "a\r\nb\rc\nd"})]
    raw = keys.parse_raw_key("datasets/ds/support_contacts/2024/06/t.jsonl")
    assert publish.render_markdown(rows, TICKETS, raw) == (
        b"# support_contacts: 2024/06/t.jsonl\n"
        b"\n"
        b"Dataset `ds`, 1 record.\n"
        b"\n"
        b"## Record at line 7\n"
        b"\n"
        b"- ticket_id: T1\n"
        b"- customer_id: C1\n"
        b"- channel: phone\n"
        b"- topic: billing\n"
        b"- resolved: true\n"
        b"- notes: a\n"
        b"  b\n"
        b"  c\n"
        b"  d\n"
    )


def test_the_markdown_document_of_two_records_separates_them_with_a_blank_line():
    rows: list[tuple[int, dict[str, Any]]] = [
        (1, TICKET | {"resolved": False, "notes": None}),
        (2, {"ticket_id": "T2", "notes": "x\r"}),
    ]
    raw = keys.parse_raw_key("datasets/ds/support_contacts/t.jsonl")
    assert publish.render_markdown(rows, TICKETS, raw) == (
        b"# support_contacts: t.jsonl\n\nDataset `ds`, 2 records.\n\n"
        b"## Record at line 1\n\n- ticket_id: T1\n- customer_id: C1\n- channel: phone\n- topic: billing\n"
        b"- resolved: false\n\n"
        b"## Record at line 2\n\n- ticket_id: T2\n- notes: x\n  \n"
    )


def test_markdown_line_endings_become_lf():
    assert publish._lines("a\r\nb\rc\nd\r\n\r") == "a\nb\nc\nd\n\n"


# --------------------------------------------------------------------------------- the document size limit


def test_a_document_of_exactly_the_knowledge_base_limit_is_published_and_one_byte_more_is_refused():
    doc = keys.parse_raw_key("datasets/ds/feedback/big.txt")
    at_limit = (b"x" * LIMIT, "text/plain")
    assert publish.document([(1, {"text": ""})], FEEDBACK, doc, at_limit) == (
        "documents/ds/feedback/big.txt",
        at_limit[0],
        "text/plain",
    )
    over = (b"x" * (LIMIT + 1), "text/plain")
    with pytest.raises(publish.DocumentTooLarge) as refused:
        publish.document([(1, {"text": ""})], FEEDBACK, doc, over)
    assert (
        str(refused.value) == "documents/ds/feedback/big.txt: 50000001 bytes; a knowledge base ingests at most 50000000"
    )


# ------------------------------------------------------------------------------------------------ process


def test_process_publishes_records_and_document_and_commits_once():
    raw_key = "datasets/ds/support_contacts/2024/t.jsonl"
    result, storage, ledger = publish_one(raw_key, [TICKET, TICKET | {"ticket_id": "T2", "notes": "\u00e9"}])
    assert result == {
        "key": raw_key,
        "published": True,
        "records_key": "records/ds/support_contacts/2024/t.jsonl",
        "document_key": "documents/ds/support_contacts/2024/t.jsonl.md",
    }
    assert storage.written[("curated", "records/ds/support_contacts/2024/t.jsonl")] == (
        b'{"ticket_id":"T1","customer_id":"C1","channel":"phone","topic":"billing","resolved":true}\n'
        b'{"ticket_id":"T2","customer_id":"C1","channel":"phone","topic":"billing","resolved":true,"notes":"\xc3\xa9"}\n',
        "application/x-ndjson",
    )
    assert storage.written[("curated", "documents/ds/support_contacts/2024/t.jsonl.md.metadata.json")] == {
        "metadataAttributes": {
            "usecase": "uc",
            "dataset": "ds",
            "source": "support_contacts",
            "format": "jsonl",
            "records": 2,
            "bias_status": "PASS",
        }
    }
    body, content_type = storage.written[("curated", "documents/ds/support_contacts/2024/t.jsonl.md")]
    assert content_type == "text/markdown"
    assert body.startswith(b"# support_contacts: 2024/t.jsonl\n\nDataset `ds`, 2 records.\n\n## Record at line 1\n")
    assert ledger.commits == [("r1", "publish", raw_key, "published", {"curated": 2}, {})]


def test_process_publishes_a_markdown_document_as_markdown():
    raw_key = "datasets/ds/feedback/c.md"
    result, storage, ledger = publish_one(raw_key, [{"text": "# Great\r\n"}])
    assert result == {
        "key": raw_key,
        "published": True,
        "records_key": "records/ds/feedback/c.md",
        "document_key": "documents/ds/feedback/c.md",
    }
    assert storage.written[("curated", "records/ds/feedback/c.md")] == (b"# Great\r\n", "text/markdown")
    assert storage.written[("curated", "documents/ds/feedback/c.md")] == (b"# Great\r\n", "text/markdown")
    assert ledger.commits == [("r1", "publish", raw_key, "published", {"curated": 1}, {})]


@pytest.mark.parametrize("outcome", ["quarantined", None])
def test_process_publishes_nothing_for_an_object_not_processed(outcome):
    raw_key = "datasets/ds/support_contacts/t.jsonl"
    result, storage, ledger = publish_one(raw_key, [TICKET], outcome=outcome)
    assert result == {"key": raw_key, "published": False}
    assert storage.written == {}
    assert ledger.commits == []

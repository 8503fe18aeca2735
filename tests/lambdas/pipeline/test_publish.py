"""Publish step, pure part: the curated layout (records/ and documents/) and the knowledge-base renderings."""

from __future__ import annotations

import csv
import io
import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline import keys, publish

from stacks.data.settings import KNOWLEDGE_RENDERINGS, DataSettings
from tests.lambdas.pipeline.harness import as_written, parse_markdown, pipeline_settings

SOURCES = pipeline_settings().sources
PROFILES = SOURCES["profiles"]
PURCHASES = SOURCES["purchases"]
TICKETS = SOURCES["support_contacts"]
FEEDBACK = SOURCES["feedback"]
TICKET = {"ticket_id": "T1", "customer_id": "C1", "channel": "phone", "topic": "billing", "resolved": False}


def raw(relative: str) -> keys.RawKey:
    return keys.parse_raw_key(f"datasets/ds/{relative}")


def test_the_layout_keeps_records_and_knowledge_documents_apart():
    key = "datasets/ds/support_contacts/2024/t.jsonl"
    assert keys.records_key(key) == "records/ds/support_contacts/2024/t.jsonl"
    assert keys.document_key(key, "markdown") == "documents/ds/support_contacts/2024/t.jsonl.md"
    assert keys.document_key(key, "csv") == "documents/ds/support_contacts/2024/t.jsonl.csv"
    assert keys.document_key(key, "none") is None
    assert keys.document_key("datasets/ds/feedback/a.md", "native") == "documents/ds/feedback/a.md"
    assert keys.document_key("datasets/ds/feedback/A.TXT", "native") == "documents/ds/feedback/A.TXT"
    assert keys.sidecar_key("documents/ds/feedback/a.md") == "documents/ds/feedback/a.md.metadata.json"
    assert (keys.records_prefix("ds"), keys.documents_prefix("ds")) == ("records/ds/", "documents/ds/")
    with pytest.raises(keys.LayoutError):
        keys.document_key("datasets/ds/profiles/p.jsonl", "native")  # a knowledge base cannot parse JSON lines
    with pytest.raises(keys.LayoutError):
        keys.records_key("staging/run/valid/x.jsonl")


# Object names as validate lets them through: a name, then an extension of the source's format.
names = st.builds(str.__add__, st.sampled_from("ab0ZT"), st.text(st.sampled_from("ab.-_0ZT"), max_size=8))
EXTENSIONS = {"jsonl": [".jsonl", ".ndjson"], "csv": [".csv"], "text": [".txt", ".md", ".TXT"]}


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries({fmt: st.sampled_from(KNOWLEDGE_RENDERINGS[fmt][:-1]) for fmt in EXTENSIONS}),
    st.lists(st.tuples(st.sampled_from(list(EXTENSIONS)), names, st.integers(0, 2)), min_size=2),
)
def test_document_keys_are_parsable_and_never_shared(renderings, objects):
    # Each source has one format and one rendering (a `none` source has no documents at all).
    found: dict[str, str] = {}
    for fmt, stem, pick in objects:
        extension = EXTENSIONS[fmt][pick % len(EXTENSIONS[fmt])]
        key = f"datasets/ds/{fmt}_source/{stem}{extension}"
        document = keys.document_key(key, renderings[fmt])
        assert document is not None
        assert posixpath.splitext(document)[1].lower() in keys.KNOWLEDGE_BASE_EXTENSIONS
        assert not document.endswith(keys.SIDECAR_SUFFIX)
        assert found.setdefault(document, key) == key, "two raw objects would publish the same document"


def test_markdown_has_a_section_per_record_with_its_place_and_fields():
    rows = [(1, TICKET | {"notes": "Called twice.\nAsked for [NAME]."}), (3, TICKET | {"ticket_id": "T2"})]
    text = publish.render_markdown(rows, TICKETS, raw("support_contacts/t.jsonl")).decode()
    assert text.startswith("# support_contacts: t.jsonl\n\nDataset `ds`, 2 records.\n")
    assert "## Record at line 1\n\n- ticket_id: T1\n- customer_id: C1\n" in text
    assert "- resolved: false\n- notes: Called twice.\n  Asked for [NAME].\n" in text
    assert "## Record at line 3" in text
    assert parse_markdown(text) == [(p, as_written(r)) for p, r in rows]
    csv_rows = publish.render_markdown([(2, {"order_id": "O1", "amount": 1.5})], PURCHASES, raw("purchases/o.csv"))
    assert b"## Record at row 2\n\n- order_id: O1\n- amount: 1.5\n" in csv_rows


ticket_records = st.fixed_dictionaries(
    {
        "ticket_id": st.text(min_size=1, max_size=20),
        "customer_id": st.text(min_size=1, max_size=16),
        "channel": st.sampled_from(["email", "phone", "chat"]),
        "topic": st.text(min_size=1, max_size=60),
        "resolved": st.booleans(),
        "notes": st.one_of(
            st.none(),
            st.sampled_from(["ok\n## Record at line 9\n- ticket_id: forged", "\r\n- a: b\r", "", "  \n\n  x"]),
            st.text(st.sampled_from("ab #-:\r\n\u00e9"), max_size=200),
            st.text(max_size=80),
        ),
    }
)


@settings(max_examples=100, deadline=None)
@given(st.lists(ticket_records, max_size=6))
def test_markdown_reads_back_to_the_records_whatever_their_text(records):
    # Text that looks like markdown (headings, list items, blank lines) stays inside its field.
    rows = list(enumerate(records, start=1))
    text = publish.render_markdown(rows, TICKETS, raw("support_contacts/t.jsonl")).decode()
    assert parse_markdown(text) == [(p, as_written(r)) for p, r in rows]


@settings(max_examples=100, deadline=None)
@given(st.lists(ticket_records, max_size=6))
def test_csv_documents_read_back_with_the_schema_columns(records):
    body = publish.render_csv(records, TICKETS).decode()
    read = list(csv.DictReader(io.StringIO(body, newline="")))
    assert [list(r) for r in read] == [list(TICKETS.field_names)] * len(records)
    assert read == [{k: publish._cell(r.get(k)) for k in TICKETS.field_names} for r in records]


def test_each_rendering_gives_a_parsable_document_or_none():
    rows = [(1, TICKET)]
    tickets = raw("support_contacts/t.jsonl")
    native = publish.render([TICKET], TICKETS, tickets.extension)
    assert native[1] == "application/x-ndjson"
    key, body, content_type = publish.document(rows, TICKETS, tickets, native) or ("", b"", "")
    assert (key, content_type) == ("documents/ds/support_contacts/t.jsonl.md", "text/markdown")
    assert parse_markdown(body.decode()) == [(1, as_written(TICKET))]
    as_csv = TICKETS.model_copy(update={"knowledge": "csv"})
    key, body, content_type = publish.document(rows, as_csv, tickets, native) or ("", b"", "")
    assert (key, content_type) == ("documents/ds/support_contacts/t.jsonl.csv", "text/csv")
    assert body == b"ticket_id,customer_id,channel,topic,resolved,notes\nT1,C1,phone,billing,false,\n"
    assert publish.document(rows, TICKETS.model_copy(update={"knowledge": "none"}), tickets, native) is None
    doc = raw("feedback/c.md")
    text = publish.render([{"text": "# Great\n"}], FEEDBACK, doc.extension)
    assert publish.document([(1, {"text": "# Great\n"})], FEEDBACK, doc, text) == (
        "documents/ds/feedback/c.md",
        b"# Great\n",
        "text/markdown",
    )


def test_a_document_over_the_knowledge_base_file_limit_is_refused(monkeypatch):
    monkeypatch.setattr(publish, "KNOWLEDGE_BASE_MAX_DOCUMENT_BYTES", 100)
    rows = [(i, TICKET | {"ticket_id": f"T{i}"}) for i in range(1, 5)]
    tickets = raw("support_contacts/t.jsonl")
    with pytest.raises(publish.DocumentTooLarge, match=r"t\.jsonl\.md"):
        publish.document(rows, TICKETS, tickets, publish.render([r for _, r in rows], TICKETS, ".jsonl"))


def test_the_knowledge_setting_defaults_by_format_and_reaches_the_functions():
    assert {name: spec.knowledge for name, spec in SOURCES.items()} == {
        "profiles": "markdown",
        "purchases": "native",
        "service_events": "none",  # data.yaml keeps the click stream out of the knowledge base
        "support_contacts": "markdown",  # the default for jsonl
        "feedback": "native",
    }
    bare = DataSettings.model_validate({"sources": {"a": {"format": "jsonl", "fields": {"x": {"type": "string"}}}}})
    assert bare.contract().sources["a"].knowledge == "markdown"


@pytest.mark.parametrize(
    ("relative", "content_type", "document"),
    [
        ("feedback/c.md.gz", "text/markdown", "documents/ds/feedback/c.md"),
        ("feedback/c.txt.gz", "text/plain", "documents/ds/feedback/c.txt"),
        ("feedback/c.MD.GZ", "text/markdown", "documents/ds/feedback/c.MD"),
    ],
)
def test_a_gzipped_document_is_published_decompressed_as_the_type_under_the_gz(relative, content_type, document):
    doc = raw(relative)
    assert doc.compressed
    text = publish.render([{"text": "# Great\n"}], FEEDBACK, doc.content_extension)
    assert text == (b"# Great\n", content_type)
    assert publish.document([(1, {"text": "# Great\n"})], FEEDBACK, doc, text) == (document, b"# Great\n", content_type)

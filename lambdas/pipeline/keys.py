"""Where every object of a run lives. Pure functions: the same input always gives the same keys.

raw bucket        datasets/<dataset>/<source>/<path>            uploads; datasets/<dataset>/_READY starts a run
                  staging/<run>/valid/<raw key>.jsonl            validated records (still with PII)
                  staging/<run>/redacted/<raw key>.jsonl         redacted records, input of publish
quarantine bucket <raw key>                                      a whole object that could not be processed
                  <raw key>.reason.json                          why
                  <raw key>.<step>-rejects.jsonl                 records one step rejected, each with a reason
curated bucket    records/<dataset>/<source>/<path>              redacted records in the source's format
                  documents/<dataset>/<source>/<path>[.md|.csv]  what a Bedrock knowledge base can parse: text and
                                                                 CSV as they are, structured records rendered
                  documents/.../<document>.metadata.json         its Bedrock metadata sidecar (documents/ only)
reports bucket    reports/<dataset>/<run>/report.json|.md        the run's report
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

DATASETS = "datasets/"
READY_MARKER = "_READY"
STAGING = "staging/"
REPORTS = "reports/"
MAP_RESULTS = "map-runs/"
RECORDS = "records/"  # curated: for record consumers (JSONL, CSV, documents as uploaded)
DOCUMENTS = "documents/"  # curated: the knowledge base's data source, nothing it cannot parse
# File types a Bedrock knowledge base parses (default parser); anything else counts as a failed document.
KNOWLEDGE_BASE_EXTENSIONS = frozenset({".txt", ".md", ".html", ".doc", ".docx", ".csv", ".xls", ".xlsx", ".pdf"})
SIDECAR_SUFFIX = ".metadata.json"
_DATASET = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "text", ".md": "text"}
GZIP = ".gz"  # `<name>.<format extension>.gz`: validate decompresses it; curated keys drop the `.gz`


class LayoutError(ValueError):
    """An object key outside the layout above."""


def dataset_of_marker(key: str) -> str:
    """The dataset id of a `datasets/<dataset>/_READY` marker key."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] + "/" != DATASETS or parts[2] != READY_MARKER or not _DATASET.match(parts[1]):
        raise LayoutError(f"'{key}' is not a marker datasets/<dataset>/{READY_MARKER} (dataset: {_DATASET.pattern})")
    return parts[1]


def dataset_prefix(dataset: str) -> str:
    return f"{DATASETS}{dataset}/"


def is_marker(key: str) -> bool:
    return posixpath.basename(key) == READY_MARKER


@dataclass(frozen=True)
class RawKey:
    key: str
    dataset: str
    source: str | None  # None when the object is not inside a source folder
    extension: str

    @property
    def compressed(self) -> bool:
        return self.extension == GZIP

    @property
    def content_extension(self) -> str:
        """The extension that names the content: under a `.gz`, the one before it (`.md.gz` -> `.md`)."""
        if self.compressed:
            return posixpath.splitext(self.key[: -len(GZIP)])[1].lower()
        return self.extension

    @property
    def format(self) -> str | None:
        """jsonl, csv or text from the content's extension; None for an unknown one."""
        return _EXTENSIONS.get(self.content_extension)


def parse_raw_key(key: str) -> RawKey:
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != DATASETS:
        raise LayoutError(f"'{key}' is not under {DATASETS}<dataset>/")
    source = parts[2] if len(parts) >= 4 else None
    return RawKey(key=key, dataset=parts[1], source=source, extension=posixpath.splitext(key)[1].lower())


def staging_prefix(run_id: str, stage: str) -> str:
    return f"{STAGING}{run_id}/{stage}/"


def staging_key(run_id: str, stage: str, raw_key: str) -> str:
    return f"{staging_prefix(run_id, stage)}{raw_key}.jsonl"


def raw_key_of_staging(run_id: str, stage: str, key: str) -> str:
    prefix = staging_prefix(run_id, stage)
    if not key.startswith(prefix) or not key.endswith(".jsonl"):
        raise LayoutError(f"'{key}' is not a {stage} staging object of run {run_id}")
    return key[len(prefix) : -len(".jsonl")]


def rejects_key(raw_key: str, step: str) -> str:
    return f"{raw_key}.{step}-rejects.jsonl"


def reason_key(raw_key: str) -> str:
    return f"{raw_key}.reason.json"


def _relative(raw_key: str) -> str:
    """The raw key under datasets/, without a `.gz`: curated objects are written decompressed."""
    if not raw_key.startswith(DATASETS):
        raise LayoutError(f"'{raw_key}' is not under {DATASETS}")
    relative = raw_key[len(DATASETS) :]
    return relative[: -len(GZIP)] if relative.lower().endswith(GZIP) else relative


def records_key(raw_key: str) -> str:
    """records/<dataset>/<source>/<path>: derived from the raw key only, so a re-run overwrites, never duplicates."""
    return RECORDS + _relative(raw_key)


def document_key(raw_key: str, rendering: str) -> str | None:
    """Where the knowledge base finds the object (None: the source is not for the knowledge base).

    ``native`` keeps the name (its extension must be one a knowledge base parses); ``markdown`` and ``csv``
    append `.md` / `.csv` to the whole name. Both are one-to-one within a source folder, so two raw objects
    never share a document (`a.jsonl` and `a.ndjson` give `a.jsonl.md` and `a.ndjson.md`).
    """
    if rendering == "none":
        return None
    document = DOCUMENTS + _relative(raw_key)
    if rendering == "native":
        extension = posixpath.splitext(document)[1]
        if extension.lower() not in KNOWLEDGE_BASE_EXTENSIONS:
            raise LayoutError(f"'{raw_key}': a knowledge base cannot parse '{extension}' as it is")
        return document
    if rendering == "markdown":
        return f"{document}.md"
    if rendering == "csv":
        return f"{document}.csv"
    raise ValueError(f"unknown rendering '{rendering}'")


def records_prefix(dataset: str) -> str:
    return f"{RECORDS}{dataset}/"


def documents_prefix(dataset: str) -> str:
    return f"{DOCUMENTS}{dataset}/"


def sidecar_key(document: str) -> str:
    """Bedrock's metadata file: the document's full name plus `.metadata.json`, in the same folder."""
    return f"{document}{SIDECAR_SUFFIX}"


def report_key(dataset: str, run_id: str, extension: str) -> str:
    return f"{REPORTS}{dataset}/{run_id}/report.{extension}"

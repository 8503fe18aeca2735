"""`make data-dry-run`: the Data stage's pipeline on local files, before anything is deployed.

It runs the step functions the deployed Lambdas run (lambdas/pipeline: validate, redact, profile, assess,
publish, the quarantine route and finalize's report) in the order the state machine runs them, over a local
folder laid out like one dataset of the raw bucket: ``<DATA>/<source>/<files>``, the folder you would upload
under `datasets/<dataset>/`. The buckets, the run ledger and the duplicate claims live in memory; nothing is
uploaded and no AWS account is needed. Only usecase.yaml and data.yaml are read, so a use case can be tried
before its models, thresholds or guardrail policy are written.

PII detection is stubbed unless ``--comprehend``: fields declared `pii:` are handled exactly as deployed
(they need no detection), but free text (`scan: true` fields, text documents) is not scanned; the output and
the report say so. ``--comprehend`` opts in to Amazon Comprehend with the caller's credentials (billed per
character, the data leaves the machine), so it is never picked up from the environment on its own.

Output: the gate, the figures, the quarantine reasons by count and the conservation line on stdout; the
report (`report.json`, `report.md`, as the deployed run writes them, with a dry-run notice) and the would-be
curated and quarantine objects in ``--out``. Exit codes: 0 gate PASS or WARN, 1 gate FAIL or conservation
broken, 2 bad input or configuration (one line per problem).
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import logging
import re
import secrets
import shutil
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from stacks.common.cdk_context import load_cdk_json_context  # importing stacks puts lambdas/ on the import path
from stacks.config import USECASES_DIR, ConfigError, load_usecase
from stacks.data.settings import DATA_FILE, load_data_settings

# isort: split
# The handlers' modules: their `process` functions are what each Lambda runs.
from pipeline import finalize, keys, profile, publish, quarantine, redact, report, start, validate
from pipeline.contract import PipelineSettings
from pipeline.ledger import Claims, Ledger
from pipeline.models import Failed, Failure, FinalizeRequest, Item, PublishItem, QuarantineRequest
from pipeline.pii import Detect, Hasher
from pipeline.profiling import assess
from pipeline.storage import Storage

RAW, CURATED, QUARANTINE = "raw", "curated", "quarantine"
DEFAULT_OUT = Path(".build/dry-run")
DEFAULT_DATASET = "local"
STUBBED = (
    "PII detection: STUBBED (offline, no Comprehend call): fields declared `pii:` in data.yaml are masked, hashed "
    "or dropped as deployed, but free text (`scan: true` fields, text documents) is NOT scanned, so PII in it "
    "passes unredacted here; --comprehend scans it with Amazon Comprehend"
)
COMPREHEND = "PII detection: Amazon Comprehend DetectPiiEntities ({region}), free text scanned as deployed"
MAX_REASONS = 15


class InputError(Exception):
    """Bad input a person can fix: one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class LocalS3:
    """The S3 calls `pipeline.storage.Storage` makes, in memory; the raw bucket is read from the local files."""

    def __init__(self, raw: Mapping[str, Path]) -> None:
        self.raw = dict(raw)
        self.buckets: dict[str, dict[str, bytes]] = {}

    def _body(self, bucket: str, key: str, operation: str) -> bytes:
        if bucket == RAW and key in self.raw:
            return self.raw[key].read_bytes()
        try:
            return self.buckets[bucket][key]
        except KeyError:
            error = {"Error": {"Code": "NoSuchKey", "Message": f"s3://{bucket}/{key}"}}
            raise ClientError(error, operation) from None

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"Body": io.BytesIO(self._body(Bucket, Key, "GetObject"))}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803
        self.buckets.setdefault(Bucket, {})[Key] = Body

    def copy_object(self, *, CopySource: Mapping[str, str], Bucket: str, Key: str) -> None:  # noqa: N803
        self.buckets.setdefault(Bucket, {})[Key] = self._body(CopySource["Bucket"], CopySource["Key"], "CopyObject")

    def delete_object(self, *, Bucket: str, Key: str) -> None:  # noqa: N803
        self.buckets.get(Bucket, {}).pop(Key, None)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """ListObjectsV2 order: by key."""
        return sorted(k for k in self.buckets.get(bucket, {}) if k.startswith(prefix))


class LocalLedger(Ledger):
    """The run ledger in memory, with the DynamoDB ledger's semantics: counts added once per (phase, object)."""

    def __init__(self) -> None:
        super().__init__(None, "local")
        self._counts: Counter[str] = Counter()
        self._markers: dict[tuple[str, str], dict[str, Any]] = {}

    def commit(
        self, run_id: str, phase: str, key: str, *, outcome: str, counts: Mapping[str, int], detail: Mapping[str, Any]
    ) -> bool:
        if (phase, key) in self._markers:
            return False
        self._markers[(phase, key)] = {"key": key, "outcome": outcome, **detail}
        self._counts.update({name: value for name, value in counts.items() if value})
        return True

    def marker(self, run_id: str, phase: str, key: str) -> dict[str, Any] | None:
        found = self._markers.get((phase, key))
        return dict(found) if found is not None else None

    def counts(self, run_id: str) -> dict[str, int]:
        return dict(self._counts)


class LocalClaims(Claims):
    """Duplicate claims in memory: the first owner of a digest keeps it, as the conditional write decides."""

    def __init__(self) -> None:
        super().__init__(None, "local")
        self._owners: dict[tuple[str, str], str] = {}

    def claim(self, scope: str, claims: Sequence[tuple[str, str]]) -> dict[str, str | None]:
        """The digests another owner holds, each with that owner."""
        taken: dict[str, str | None] = {}
        for digest, owner in claims:
            holder = self._owners.setdefault((scope, digest), owner)
            if holder != owner:
                taken[digest] = holder
        return taken


def no_detection(text: str) -> Sequence[Mapping[str, Any]]:
    """The stub for DetectPiiEntities: finds nothing (see `STUBBED`)."""
    return []


@dataclass
class DryRun:
    usecase: str
    data: Path
    report: dict[str, Any]
    markdown: str
    reasons: Counter[str]  # quarantine reason -> records
    pii_detection: str  # the line saying how PII was found
    store: LocalS3
    comprehend_requests: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.report["profile"]["status"])

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "FAIL" or not self.report["conservation"]["holds"] else 0


def dataset_name(data: Path, given: str | None) -> str:
    """The dataset id: ``given``, else the folder's name when it is a valid one, else `local`."""
    for candidate in (given,) if given is not None else (data.resolve().name, DEFAULT_DATASET):
        try:
            return keys.dataset_of_marker(f"{keys.dataset_prefix(candidate)}{keys.READY_MARKER}")
        except keys.LayoutError:
            if given is not None:
                raise InputError(
                    [f"--dataset '{given}': must be 1-63 lowercase letters, digits, '.', '_' or '-'"]
                ) from None
    return DEFAULT_DATASET


def raw_objects(data: Path, sources: Sequence[str], data_file: str) -> dict[str, Path]:
    """Relative key (`<source>/<path>`) -> file, for every file under a source folder; `InputError` naming the
    expected layout when the folder does not match data.yaml's sources."""
    if not data.is_dir():
        raise InputError([f"DATA={data}: no such folder; expected <DATA>/<source>/<files>"])
    expected = f"expected {data}/<source>/<files>, <source> one of: {', '.join(sorted(sources))} ({data_file})"
    entries = sorted(p for p in data.iterdir() if not p.name.startswith("."))
    if (data / "datasets").is_dir() and "datasets" not in sources:
        raise InputError(
            [f"{data}: holds datasets/, the raw bucket's layout: pass DATA={data / 'datasets'}/<dataset> instead"]
        )
    problems = []
    for entry in entries:
        if not entry.is_dir():
            problems.append(f"{entry}: a file outside a source folder; {expected}")
        elif entry.name not in sources:
            close = difflib.get_close_matches(entry.name, sources, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{entry}: '{entry.name}' is not a source{hint}; {expected}")
    if problems:
        raise InputError(problems)
    found = {
        path.relative_to(data).as_posix(): path
        for entry in entries
        for path in sorted(entry.rglob("*"))
        if path.is_file()
    }
    if not found:
        raise InputError([f"{data}: no files in a source folder; {expected}"])
    return found


def dry_run(
    usecase_id: str,
    data: Path,
    *,
    root: Path = USECASES_DIR,
    dataset: str | None = None,
    comprehend: Any | None = None,
    now: datetime | None = None,
) -> DryRun:
    """Run the pipeline on ``data`` with ``usecase_id``'s data.yaml; ``comprehend`` (a boto3 client) detects
    PII in free text, None stubs it. Raises `ConfigError` for a bad use case, `InputError` for a bad folder."""
    usecase = load_usecase(usecase_id, root)
    settings = load_data_settings(usecase, root).contract()
    files = raw_objects(data, list(settings.sources), f"{root.name}/{usecase_id}/{DATA_FILE}")
    started = now or datetime.now(UTC)
    name = dataset_name(data, dataset)
    run = start.start_run(
        RAW, keys.dataset_prefix(name) + keys.READY_MARKER, f"dry-run-{started:%Y%m%dT%H%M%SZ}", started
    )
    store = LocalS3({run.prefix + relative: path for relative, path in files.items()})
    storage, ledger, claims = Storage(store), LocalLedger(), LocalClaims()
    requests = Counter[str]()
    detector = no_detection if comprehend is None else redact.comprehend_detector(comprehend, settings.pii.language)

    def detect(text: str) -> Sequence[Mapping[str, Any]]:
        requests["DetectPiiEntities"] += 1
        return detector(text)

    whole: dict[str, int] = {}  # objects quarantined whole, with the records they count as
    for key in sorted(store.raw):
        item = Item(key=key, size=store.raw[key].stat().st_size, run=run)
        records = _process(item, settings=settings, storage=storage, ledger=ledger, claims=claims, detect=detect)
        if records is not None:
            whole[key] = records
    assessment = assess(ledger.counts(run.id), settings.profile)
    published = assessment["status"] != "FAIL"
    if published:
        for staged in store.keys(RAW, run.redacted_prefix):
            _publish(
                PublishItem(key=staged, run=run, bias_status=assessment["status"]),
                settings,
                storage,
                ledger,
                usecase_id,
            )
    finished = datetime.now(UTC) if now is None else now
    built = finalize.build_report(
        FinalizeRequest(run=run, assessment=assessment, published=published), ledger.counts(run.id), finished
    )
    pii_line = STUBBED if comprehend is None else COMPREHEND.format(region=comprehend.meta.region_name)
    reasons = quarantine_reasons(store, whole)
    built["dry_run"] = {
        "usecase": usecase_id,
        "data": str(data),
        "pii_detection": "stubbed" if comprehend is None else "comprehend",
        "pii_note": pii_line,
        "comprehend_requests": requests["DetectPiiEntities"] if comprehend is not None else 0,
        "quarantine_reasons": dict(reasons.most_common()),
    }
    return DryRun(
        usecase=usecase_id,
        data=data,
        report=built,
        markdown=dry_run_markdown(built, pii_line, reasons),
        reasons=reasons,
        pii_detection=pii_line,
        store=store,
        comprehend_requests=built["dry_run"]["comprehend_requests"],
        notes=[
            f"no files for source '{s}'"
            for s in sorted(settings.sources)
            if not any(k.startswith(f"{s}/") for k in files)
        ],
    )


def _process(
    item: Item, *, settings: PipelineSettings, storage: Storage, ledger: Ledger, claims: Claims, detect: Detect
) -> int | None:
    """One object through validate, redact and profile; any error goes to the quarantine route, as the Catch
    does. Returns the records the object counts as when it was quarantined whole (None: it was not)."""
    records_in: int | None = None
    whole: int | None = None
    try:
        validated = validate.process(
            item, settings=settings, storage=storage, claims=claims, quarantine_bucket=QUARANTINE
        )
        records_in = validated.records_in
        if validated.whole_object_rejected:
            whole = validated.rejected
        redacted = redact.process(
            validated,
            settings=settings,
            storage=storage,
            detect=detect,
            hasher=_HASHER,
            quarantine_bucket=QUARANTINE,
        )
        profile.process(redacted, spec=settings.profile, storage=storage, ledger=ledger)
    except Exception as exc:  # the state machine's Catch: every error after the retries
        failed = Failed(key=item.key, run=item.run, records_in=records_in, error=_failure(exc))
        quarantine.process(
            QuarantineRequest(phase="process", failed=failed),
            storage=storage,
            ledger=ledger,
            quarantine_bucket=QUARANTINE,
            curated_bucket=CURATED,
            settings=settings,
        )
        return records_in or 1
    return whole


def _publish(item: PublishItem, settings: PipelineSettings, storage: Storage, ledger: Ledger, usecase: str) -> None:
    try:
        publish.process(
            item, settings=settings, storage=storage, ledger=ledger, curated_bucket=CURATED, usecase=usecase
        )
    except Exception as exc:  # the publish map's Catch
        quarantine.process(
            QuarantineRequest(phase="publish", failed=Failed(key=item.key, run=item.run, error=_failure(exc))),
            storage=storage,
            ledger=ledger,
            quarantine_bucket=QUARANTINE,
            curated_bucket=CURATED,
            settings=settings,
        )


# A salt of this run only: hashes here never match a deployment's (its salt is a secret generated at deploy).
_HASHER = Hasher(secrets.token_bytes(32))


def _failure(exc: Exception) -> Failure:
    return Failure(Error=type(exc).__name__, Cause=str(exc))


def normalized(reason: str) -> str:
    """A reason with its numbers as N, so "duplicate of record 12" and "... record 40" count together."""
    return re.sub(r"\b\d+(?:\.\d+)?\b", "N", reason)


def quarantine_reasons(store: LocalS3, whole: Mapping[str, int]) -> Counter[str]:
    """Quarantined records by reason, from what the steps wrote to the quarantine bucket; ``whole`` holds the
    records of each object quarantined whole (its reason file does not say)."""
    reasons: Counter[str] = Counter()
    for key, body in store.buckets.get(QUARANTINE, {}).items():
        if key.endswith("-rejects.jsonl") and not key.endswith(".publish-rejects.jsonl"):
            step = key.rsplit(".", 2)[-2].removesuffix("-rejects")
            for line in body.decode().splitlines():
                if line:
                    reasons[f"{step}: {normalized(json.loads(line)['reason'])}"] += 1
        elif key.endswith(".reason.json"):
            reason = json.loads(body)
            n = int(reason.get("records", whole.get(key.removesuffix(".reason.json"), 1)))
            if "reason" in reason:  # validate rejected the object as a whole
                reasons[f"{reason['step']}: {reason['reason']}"] += n
            else:  # the quarantine route: a step failed
                cause = str(reason["cause"]).splitlines()[0][:200] if reason["cause"] else ""
                reasons[f"{reason['step']}: {reason['error']}: {cause}".rstrip(": ")] += n
    return reasons


def dry_run_markdown(built: Mapping[str, Any], pii_line: str, reasons: Counter[str]) -> str:
    """The deployed run's markdown report, with the dry-run notice under its title and the reasons at the end."""
    title, _, rest = report.render_markdown(built).partition("\n")
    notice = [
        "",
        f"> **Dry run** of `{built['dry_run']['usecase']}` on local files (`make data-dry-run`): nothing was "
        "uploaded; 'Published' means what a deployed run would publish.",
        f"> {pii_line}.",
    ]
    lines = ["", "## Quarantine reasons (dry run)", "", "| records | reason |", "|---:|---|"]
    lines += ["| {} | {} |".format(n, reason.replace("|", "\\|")) for reason, n in reasons.most_common()]
    return "\n".join([title, *notice, rest.rstrip("\n"), *lines]) + "\n"


def _figure(value: Any) -> str:
    return "undefined" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def summary(result: DryRun) -> list[str]:
    """What the terminal shows: the PII mode, the gate, the figures, the reasons and the conservation line."""
    built = result.report
    balance, profile_ = built["conservation"], built["profile"]
    lines = [
        f"dry run: use case {result.usecase}, data {result.data}, dataset {built['dataset']}, "
        f"{balance['objects']} objects",
        result.pii_detection,
        *(f"note: {note}" for note in result.notes),
        f"gate: {result.status} ({'would publish' if built['published'] else 'held back: nothing would publish'})",
        f"records: {balance['records_in']} in, {balance['curated']} curated, {balance['quarantined']} quarantined "
        f"({built['quarantine_rate']:.1%}), {balance['held']} held",
    ]
    for group, figures in profile_.get("groups", {}).items():
        parts = [f"group {group}: {figures.get('status')}, {figures.get('records')} records"]
        if "psi" in figures:
            parts.append(f"PSI {_figure(figures['psi'].get('value'))}")
        if "chi_square" in figures:
            parts.append(f"chi-square p {_figure(figures['chi_square'].get('value'))}")
        outcome = figures.get("outcome") or {}
        for name in ("parity_difference", "disparate_impact"):
            if name in outcome:
                parts.append(f"{name.replace('_', ' ')} {_figure(outcome[name].get('value'))}")
        lines.append(", ".join(parts))
    entities = profile_.get("pii", {}).get("entities", {})
    lines.append("PII found: " + (", ".join(f"{k} {v}" for k, v in entities.items()) or "none"))
    lines += [f"finding: {finding}" for finding in profile_.get("findings", [])]
    if result.reasons:
        lines.append("quarantined records by reason:")
        top = result.reasons.most_common(MAX_REASONS)
        lines += [f"  {n:>7}  {reason}" for reason, n in top]
        if len(result.reasons) > MAX_REASONS:
            lines.append(f"  ({len(result.reasons) - MAX_REASONS} more reasons in the report)")
    broken = [name for name, ok in balance["checks"].items() if not ok]
    lines.append(
        f"conservation: records_in {balance['records_in']} = curated {balance['curated']} + quarantined "
        f"{balance['quarantined']} + held {balance['held']}: "
        + ("holds" if not broken else "BROKEN: " + "; ".join(broken))
    )
    return lines


def write_outputs(result: DryRun, out: Path) -> list[Path]:
    """report.json, report.md and the would-be curated/ and quarantine/ objects; replaces only those."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in (CURATED, QUARANTINE):
        shutil.rmtree(out / folder, ignore_errors=True)
        for key, body in result.store.buckets.get(folder, {}).items():
            path = out / folder / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    json_path, markdown_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(result.report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    markdown_path.write_text(result.markdown, encoding="utf-8")
    return [json_path, markdown_path]


def comprehend_client() -> Any:
    """A Comprehend client from the default credential chain; `InputError` when there are no credentials."""
    session = boto3.Session()
    if session.get_credentials() is None:
        raise InputError(["--comprehend: no AWS credentials found (set AWS_PROFILE, or drop --comprehend to stub)"])
    if session.region_name is None:
        raise InputError(["--comprehend: no AWS region (set AWS_REGION or the profile's region)"])
    return session.client("comprehend")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the Data stage's pipeline on local files: <DATA>/<source>/<files>, offline.",
        epilog="Exit codes: 0 gate PASS or WARN, 1 gate FAIL or conservation broken, 2 bad input or configuration.",
    )
    parser.add_argument("--usecase", help="use case id (default: cdk.json's usecase)")
    parser.add_argument("--data", type=Path, help="folder of <source>/<files> (default: usecases/<id>/sample-data)")
    parser.add_argument("--out", type=Path, help="where the report goes (default: .build/dry-run/<usecase>)")
    parser.add_argument("--dataset", help="dataset id in the report and keys (default: the folder's name)")
    parser.add_argument("--root", type=Path, default=USECASES_DIR, help="folder of use cases (default: usecases/)")
    parser.add_argument(
        "--comprehend",
        action="store_true",
        help="detect PII in free text with Amazon Comprehend (needs AWS credentials; billed per character)",
    )
    args = parser.parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)
    for module in (validate, redact, profile, publish, quarantine):
        module.logger.setLevel(logging.ERROR)  # the handlers log per object; the summary says it all
    usecase = args.usecase or str(load_cdk_json_context()["usecase"])
    data = args.data or args.root / usecase / "sample-data"
    try:
        result = dry_run(
            usecase,
            data,
            root=args.root,
            dataset=args.dataset,
            comprehend=comprehend_client() if args.comprehend else None,
        )
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"config error: {line}", file=sys.stderr)
        return 2
    except InputError as exc:
        for line in exc.problems:
            print(f"data-dry-run: {line}", file=sys.stderr)
        return 2
    print("\n".join(summary(result)))
    written = write_outputs(result, args.out or DEFAULT_OUT / usecase)
    print("report: " + ", ".join(str(p) for p in written))
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())

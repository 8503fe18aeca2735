"""Generate usecases/customer-retention/sample-data with a fixed seed (same seed, same bytes).

Five sources, laid out as the raw bucket expects below `datasets/<dataset>/`: profiles (JSONL),
purchases (CSV), service_events (JSONL), support_contacts (JSONL, PII in agent notes) and feedback
(text and Markdown documents, PII in the comments). The data is synthetic: names come from short lists,
e-mail addresses use example.com/.net/.org and phone numbers the +44 7700 900xxx range reserved for
fiction. It carries on purpose:

- a group imbalance: the 55+ age band is under-represented against the reference in data.yaml
  (reporting/selection bias), and customers in the west region are retained less often (group
  attribution bias);
- bad input the pipeline must quarantine with a reason: schema failures, duplicates within and across
  objects, an empty file, a Latin-1 file, an unknown format, a record over max_record_bytes, and a
  feedback document whose card number makes the PII policy drop it.

`find_pii` is the ground truth of the PII this generator plants; the end-to-end test and the benchmark
use it to answer DetectPiiEntities requests in place of Amazon Comprehend.

Usage: python -m tools.generate_sample_data [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "usecases" / "customer-retention" / "sample-data"
SEED = 20240601
CUSTOMERS = 200

FIRST_NAMES = [
    "Amara", "Bastian", "Chiara", "Dmitri", "Elif", "Farah", "Gunnar", "Hiroshi", "Ines", "Jovan",
    "Kalani", "Leonie", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosalind", "Soren", "Tamsin",
    "Ulrich", "Valentina", "Wendell", "Ximena", "Yusuf", "Zofia",
]  # fmt: skip
LAST_NAMES = [
    "Abernathy", "Brennan", "Castellano", "Dufresne", "Eriksen", "Fontaine", "Galloway", "Haverford",
    "Ishikawa", "Jablonski", "Kowalczyk", "Lindqvist", "Marchetti", "Nakamura", "Okonkwo", "Pemberton",
    "Quigley", "Rasmussen", "Szabo", "Thibodeaux", "Underhill", "Vasquez", "Whitcombe", "Yilmaz",
]  # fmt: skip
DOMAINS = ["example.com", "example.net", "example.org"]
SERVICES = ["streaming", "cloud-backup", "mobile-plan", "home-broadband", "smart-home", "gaming-pass"]
TOPICS = ["billing", "cancellation", "outage", "upgrade", "password reset", "device setup"]
CARD = "4111 1111 1111 1111"  # a well-known test card number

AGE_BANDS = {"18-24": 40, "25-34": 64, "35-44": 52, "45-54": 28, "55+": 16}  # 55+ is 8% vs 22% reference
RETAINED_BY_REGION = {"north": 41, "south": 40, "east": 39, "west": 33}  # of 50 customers each

_NAME = re.compile(rf"\b(?:{'|'.join(FIRST_NAMES)})(?: (?:{'|'.join(LAST_NAMES)}))?\b")
_EMAIL = re.compile(r"\b[\w.+-]+@example\.(?:com|net|org)\b")
_PHONE = re.compile(r"\+44 7700 900\d{3}")
_CARD = re.compile(re.escape(CARD))


def find_pii(text: str) -> list[tuple[int, int, str]]:
    """(begin, end, Comprehend entity type) of every PII value this generator planted in ``text``."""
    found = [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
    found += [(m.start(), m.end(), "PHONE") for m in _PHONE.finditer(text)]
    found += [(m.start(), m.end(), "CREDIT_DEBIT_NUMBER") for m in _CARD.finditer(text)]
    taken = [(b, e) for b, e, _ in found]
    for m in _NAME.finditer(text):
        if not any(b <= m.start() < e for b, e in taken):  # a name inside an e-mail address is the e-mail
            found.append((m.start(), m.end(), "NAME"))
    return sorted(found)


class _Person:
    def __init__(self, rng: random.Random, number: int) -> None:
        self.first = rng.choice(FIRST_NAMES)
        self.last = rng.choice(LAST_NAMES)
        self.email = f"{self.first.lower()}.{self.last.lower()}{number}@{rng.choice(DOMAINS)}"
        self.phone = f"+44 7700 900{rng.randrange(1000):03d}"

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def _jsonl(rows: list[Any]) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows).encode()


def _profiles(rng: random.Random, people: list[_Person]) -> list[dict[str, Any]]:
    # Every region gets the same age mix, so that age and region are independent.
    per_region = {band: count // len(RETAINED_BY_REGION) for band, count in AGE_BANDS.items()}
    regions = [region for region in RETAINED_BY_REGION for _ in range(sum(per_region.values()))]
    bands = [band for _ in RETAINED_BY_REGION for band, count in per_region.items() for _ in range(count)]
    rows: list[dict[str, Any]] = []
    for index, (person, band, region) in enumerate(zip(people, bands, regions, strict=True)):
        rows.append(
            {
                "customer_id": f"C{index + 1:05d}",
                "full_name": person.name,
                "email": person.email,
                "phone": person.phone if rng.random() > 0.1 else None,
                "age_band": band,
                "region": region,
                "plan": rng.choice(["basic", "plus", "premium"]),
                "tenure_months": rng.randint(1, 120),
                "retained": False,
            }
        )
    # Retention depends on the region only: each (region, age band) cell keeps the region's rate
    # (largest-remainder rounding), so the age bands differ in representation but not in outcome.
    size = sum(per_region.values())
    for region, kept in RETAINED_BY_REGION.items():
        quotas = {band: count * kept / size for band, count in per_region.items()}
        retained = {band: int(quota) for band, quota in quotas.items()}
        by_remainder = sorted(quotas, key=lambda band: quotas[band] - retained[band], reverse=True)
        for band in by_remainder[: kept - sum(retained.values())]:
            retained[band] += 1
        for band, count in retained.items():
            cell = [r for r in rows if r["region"] == region and r["age_band"] == band]
            for row in rng.sample(cell, count):
                row["retained"] = True
    rng.shuffle(rows)
    return rows


def _purchases(rng: random.Random) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["order_id", "customer_id", "service", "amount", "purchased_on"])
    start = date(2024, 1, 1)
    for number in range(1, 151):
        writer.writerow(
            [
                f"O{number:06d}",
                f"C{rng.randint(1, CUSTOMERS):05d}",
                rng.choice(SERVICES),
                f"{rng.uniform(5, 500):.2f}",
                (start + timedelta(days=rng.randrange(180))).isoformat(),
            ]
        )
    writer.writerow(["O900001", "C00001", "streaming", "n/a", "2024-02-01"])  # not a number
    writer.writerow(["O900002", "C00002", "streaming", "12.50", "2024-13-01"])  # not a date
    writer.writerow(["O900003", "C00003", "streaming", "12.50", "2024-02-01", "extra"])  # one value too many
    return out.getvalue().encode()


def _events(rng: random.Random, count: int, offset: int) -> list[Any]:
    start = datetime(2024, 3, 1, 8, 0, 0)
    rows: list[Any] = []
    for number in range(count):
        rows.append(
            {
                "customer_id": f"C{rng.randint(1, CUSTOMERS):05d}",
                "session_id": f"S{offset + number:07d}",
                "service": rng.choice(SERVICES),
                "event": rng.choice(["view", "view", "click"]),
                "at": (start + timedelta(minutes=rng.randrange(60 * 24 * 30))).isoformat() + "Z",
            }
        )
    return rows


def _note(rng: random.Random, person: _Person, topic: str) -> str | None:
    templates = [
        f"{person.name} called about {topic}. Call back on {person.phone} after 5pm.",
        f"Customer asked to move the {topic} conversation to e-mail: {person.email}.",
        f"Resolved {topic} on first contact; {person.first} was happy with the outcome.",
        f"Escalated {topic} to tier 2. Contact {person.email} or {person.phone}.",
        f"Walked through {topic} steps. No personal details recorded.",
    ]
    return None if rng.random() < 0.08 else rng.choice(templates)


def _support(rng: random.Random, people: list[_Person]) -> list[Any]:
    rows: list[Any] = []
    for number in range(1, 101):
        index = rng.randrange(CUSTOMERS)
        topic = rng.choice(TOPICS)
        rows.append(
            {
                "ticket_id": f"T{number:05d}",
                "customer_id": f"C{index + 1:05d}",
                "channel": rng.choice(["email", "phone", "chat"]),
                "topic": topic,
                "resolved": rng.random() < 0.7,
                "notes": _note(rng, people[index], topic),
            }
        )
    # Card number in the notes: the policy drops the notes field and keeps the ticket.
    rows.append(
        {
            "ticket_id": "T09001",
            "customer_id": "C00007",
            "channel": "phone",
            "topic": "billing",
            "resolved": True,
            "notes": f"Customer read out card {CARD} to settle the bill; told them never to share it.",
        }
    )
    rows.append(
        {"ticket_id": "T09002", "customer_id": "C00008", "channel": "fax", "topic": "billing", "resolved": True}
    )
    return rows


def _feedback(rng: random.Random, people: list[_Person]) -> dict[str, bytes]:
    docs: dict[str, bytes] = {}
    openers = ["Love the", "Disappointed with the", "Mixed feelings about the", "Great value from the"]
    for number in range(1, 7):
        person = rng.choice(people)
        service = rng.choice(SERVICES)
        lines = [
            f"{rng.choice(openers)} {service} service.",
            f"Signed: {person.name}" if rng.random() < 0.6 else "Signed: a long-time customer",
        ]
        if rng.random() < 0.5:
            lines.append(f"Reach me at {person.email} if you want details.")
        if number % 2:
            docs[f"feedback/comment-{number:03d}.txt"] = ("\n\n".join(lines) + "\n").encode()
        else:
            body = "\n\n".join(lines)
            docs[f"feedback/comment-{number:03d}.md"] = f"# Feedback {number}\n\n{body}\n".encode()
    docs["feedback/comment-card.txt"] = (
        f"Please refund to my card {CARD}, it expired.\n\nSigned: {people[3].name}\n"
    ).encode()
    docs["feedback/empty.txt"] = b""
    return docs


def generate(seed: int = SEED) -> dict[str, bytes]:
    """Relative path -> content of every sample file."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, nothing secret
    people = [_Person(rng, number) for number in range(1, CUSTOMERS + 1)]
    profiles = _profiles(rng, people)
    part0, part1 = profiles[:100], profiles[100:]
    part0_lines: list[Any] = [*part0, part0[10]]  # exact duplicate within the object
    bad = dict(part0[0])
    part1_lines: list[Any] = [
        *part1,
        part0[5],  # duplicate of a record in the other object
        {k: v for k, v in bad.items() if k != "email"} | {"customer_id": "C09001"},  # missing required field
        bad | {"customer_id": "C09002", "tenure_months": "twelve"},  # wrong type
        bad | {"customer_id": "C09003", "ssn": "078-05-1120"},  # field outside the schema
    ]
    events = _events(rng, 150, 0)
    huge = {**events[0], "session_id": "S9999999", "service": "x" * 70_000}  # over max_record_bytes
    files = {
        "profiles/part-000.jsonl": _jsonl(part0_lines),
        "profiles/part-001.jsonl": _jsonl(part1_lines),
        "purchases/orders-2024h1.csv": _purchases(rng),
        "purchases/legacy-export.parquet": b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00PAR1",
        "service_events/part-000.jsonl": _jsonl([*events[:75], '{"customer_id": "C00001", "session_id": ']),
        "service_events/part-001.jsonl": _jsonl(
            [*events[75:], {**events[76], "session_id": "S8", "event": "scroll"}]  # value not allowed
        ),
        "service_events/part-002.jsonl": _jsonl([huge, events[149] | {"session_id": "S9999998"}]),
        "support_contacts/tickets-2024h1.jsonl": _jsonl(_support(rng, people)),
        "support_contacts/legacy-latin1.jsonl": (
            json.dumps({"ticket_id": "T08001", "customer_id": "C00009", "channel": "email", "topic": "facturación"},
                       ensure_ascii=False) + "\n"
        ).encode("latin-1"),
        **_feedback(rng, people),
    }  # fmt: skip
    return dict(sorted(files.items()))


def write(out: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    files = generate(args.seed)
    write(args.out, files)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

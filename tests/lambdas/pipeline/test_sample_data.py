"""The committed sample data is exactly what the generator makes with its fixed seed."""

from __future__ import annotations

from pathlib import Path

from tools.generate_sample_data import DEFAULT_OUT, find_pii, generate


def test_the_committed_sample_data_is_reproducible():
    files = generate()
    committed = {str(p.relative_to(DEFAULT_OUT)): p.read_bytes() for p in Path(DEFAULT_OUT).rglob("*") if p.is_file()}
    assert committed == files


def test_another_seed_gives_other_data():
    assert generate(seed=1) != generate()


def test_the_pii_oracle_finds_what_the_generator_plants():
    text = "Escalated billing to tier 2. Contact oskar.underhill72@example.net or +44 7700 900604, Oskar Underhill."
    assert [(text[b:e], kind) for b, e, kind in find_pii(text)] == [
        ("oskar.underhill72@example.net", "EMAIL"),
        ("+44 7700 900604", "PHONE"),
        ("Oskar Underhill", "NAME"),
    ]

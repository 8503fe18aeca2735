"""Benign long documents for the passage detector's benchmark: fetched from pinned packages, verified, cached.

A knowledge base holds news, manuals, policies, emails and tickets, not chat turns; these are the public
sources of such text that the package registries reachable here carry (no other internet). Every artifact is
pinned by version and sha256, downloaded with the ordinary client (pip, apt-get download), checked, and
cached under .build/corpora/ (outside git). Nothing is installed: wheels are read as zip files, Debian
packages unpacked with ``dpkg -x``.

Corpora (kind; pinned artifact; path inside):
- news: news articles of the Lee corpus (Australian Broadcasting Corporation); PyPI gensim 4.4.0 wheel;
  gensim/test/test_data/lee_background.cor and lee.cor, one article a line.
- policy: Debian Policy Manual, Perl and menu policies, FHS, one document per section; Debian debian-policy
  4.6.2.0; usr/share/doc/debian-policy/**/*.html.
- manual-en, manual-de, manual-ja: the Debian Reference in English, German and Japanese (multibyte), one
  document per section; debian-reference-{en,de,ja} 2.100; usr/share/debian-reference/*.{en,de,ja}.html.
- manpages-en, manpages-de: Linux man pages, roff rendered to plain text; manpages 6.03-2, manpages-de
  4.18.1-1; usr/share/man/**/*.gz.
- email: RFC 822 / MIME messages of CPython's email tests; libpython3.11-testsuite 3.11.2-6+deb12u9;
  usr/lib/python3.11/test/test_email/data/msg_*.txt.
- tickets: change-request entries (policy change proposals with bug numbers, seconds, closes); debian-policy
  4.6.2.0 and debian-reference-en 2.100; usr/share/doc/*/changelog.gz.

Run: ``python -m bench.passage_corpora`` (fetches what is missing and prints the document counts).
"""

from __future__ import annotations

import gzip
import hashlib
import html
import itertools
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".build" / "corpora"
MIN_CHARS = 200  # shorter sections are headings or stubs, not documents
MAX_CHARS = 100_000  # the detector's limit


@dataclass(frozen=True)
class Artifact:
    kind: str  # "pypi" or "deb"
    name: str
    version: str
    filename: str
    sha256: str


ARTIFACTS = {
    "gensim": Artifact(
        "pypi",
        "gensim",
        "4.4.0",
        "gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        "91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8",
    ),
    "debian-policy": Artifact(
        "deb",
        "debian-policy",
        "4.6.2.0",
        "debian-policy_4.6.2.0_all.deb",
        "ef9d01b625c3b87c3a845c2cd1b66f1a16e9240b2b9e5bee53472a00e8457a39",
    ),
    "debian-reference-en": Artifact(
        "deb",
        "debian-reference-en",
        "2.100",
        "debian-reference-en_2.100_all.deb",
        "9f31d3a17df505de09689ca255512ea58c1fc47c59bb1b0c7bf1c23362e9743f",
    ),
    "debian-reference-de": Artifact(
        "deb",
        "debian-reference-de",
        "2.100",
        "debian-reference-de_2.100_all.deb",
        "3b0ce65fd63e75ddf8eb07ca36293425135080e690a07e06a6ac8bc8040ef0aa",
    ),
    "debian-reference-ja": Artifact(
        "deb",
        "debian-reference-ja",
        "2.100",
        "debian-reference-ja_2.100_all.deb",
        "f67140e0b994409413bd5fcc8dfcce832445c99d724401f0275fa238daf30325",
    ),
    "manpages": Artifact(
        "deb",
        "manpages",
        "6.03-2",
        "manpages_6.03-2_all.deb",
        "efa1ba4cd19ad7baeae959c9209a7eb74be2ebb858bcabb412597bfc9f588c91",
    ),
    "manpages-de": Artifact(
        "deb",
        "manpages-de",
        "4.18.1-1",
        "manpages-de_4.18.1-1_all.deb",
        "37d2e7ee51f22952aecec3af93647ff59194a3c74bb7a694560f49c7f7ab3978",
    ),
    "libpython3.11-testsuite": Artifact(
        "deb",
        "libpython3.11-testsuite",
        "3.11.2-6+deb12u9",
        "libpython3.11-testsuite_3.11.2-6+deb12u9_all.deb",
        "5dd0f85e950b344a51374e0ef68089e808f73c6c594c80e5232936b5c7ea4a28",
    ),
}


@dataclass(frozen=True)
class Document:
    corpus: str  # news, policy, manual-en, ...
    doc_id: str  # stable id: the split hashes it
    text: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(artifact: Artifact) -> Path:
    """The artifact's file in the cache, downloaded when missing; its sha256 is checked every time."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / artifact.filename
    if not path.is_file():
        if artifact.kind == "pypi":
            command = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp",
                "--abi", "cp311", "-d", str(CACHE), f"{artifact.name}=={artifact.version}",
            ]  # fmt: skip
        else:
            command = ["apt-get", "download", f"{artifact.name}={artifact.version}"]
        subprocess.run(command, check=True, cwd=CACHE, capture_output=True)
    actual = _sha256(path)
    if actual != artifact.sha256:
        raise SystemExit(f"{path}: sha256 {actual}, expected {artifact.sha256}")
    return path


def unpacked(artifact: Artifact) -> Path:
    """The package's files: a wheel is read in place, a Debian package unpacked with dpkg -x once."""
    path = fetch(artifact)
    target = CACHE / "x" / artifact.name
    if not (target / ".done").is_file():
        target.mkdir(parents=True, exist_ok=True)
        if artifact.kind == "deb":
            subprocess.run(["dpkg", "-x", str(path), str(target)], check=True)
        else:
            with zipfile.ZipFile(path) as wheel:
                wheel.extractall(target, [n for n in wheel.namelist() if n.endswith((".cor",))])
        (target / ".done").write_text(artifact.sha256)
    return target


class _Sections(HTMLParser):
    """Text of an HTML page, cut into sections at h1-h3 headings; scripts, styles and navigation dropped."""

    _SKIP = frozenset({"script", "style", "head", "nav"})
    _BLOCK = frozenset({"p", "div", "li", "pre", "tr", "br", "dt", "dd", "table", "ul", "ol", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[list[str]] = [[]]
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in ("h1", "h2", "h3"):
            self.sections.append([])
        elif tag in self._BLOCK:
            self.sections[-1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in ("h1", "h2", "h3") or tag in self._BLOCK:
            self.sections[-1].append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.sections[-1].append(data)


def html_sections(page: str) -> list[str]:
    parser = _Sections()
    parser.feed(page)
    out = []
    for parts in parser.sections:
        lines = [" ".join(line.split()) for line in "".join(parts).splitlines()]
        text = "\n".join(line for line in lines if line)
        if len(text) >= MIN_CHARS:
            out.append(text[:MAX_CHARS])
    return out


_ROFF_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")
_ROFF_ESCAPES = {
    r"\-": "-",
    r"\(aq": "'",
    r"\(dq": '"',
    r"\(em": "\u2014",
    r"\(en": "\u2013",
    r"\(bu": "\u2022",
    r"\e": "\\",
    r"\&": "",
}
_ROFF_NAMED = re.compile(r"\\\(..|\\\[[^\]]*\]|\\[*n]\(?..|\\s[-+]?\d")


def roff_text(source: str) -> str:
    """A man page's text: requests dropped or reduced to their arguments, fonts and escapes resolved."""
    lines: list[str] = []
    for raw in source.splitlines():
        line = raw
        if line.startswith(('.\\"', "'\\\"", '.\\\\"')) or line.strip() in (".", "'"):
            continue
        if line.startswith((".", "'")):
            request, _, rest = line[1:].partition(" ")
            if request in ("SH", "SS"):
                line = "\n" + rest.strip('"')
            elif request in ("B", "I", "BR", "IR", "RB", "BI", "IB", "RI", "TP", "IP", "TQ", "UR", "MT", "OP"):
                line = rest.replace('"', "")
            elif request in ("PP", "LP", "P", "sp", "br", "RS", "RE", "EX", "EE", "nf", "fi", "in", "ad", "na"):
                line = ""
            else:
                continue
        for escape, value in _ROFF_ESCAPES.items():
            line = line.replace(escape, value)
        line = _ROFF_NAMED.sub("", _ROFF_FONT.sub("", line))
        lines.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip()


def news() -> Iterator[Document]:
    root = unpacked(ARTIFACTS["gensim"]) / "gensim" / "test" / "test_data"
    for name in ("lee_background.cor", "lee.cor"):
        for i, line in enumerate((root / name).read_text(encoding="latin-1").splitlines()):
            if len(line.strip()) >= MIN_CHARS:
                yield Document("news", f"{name}:{i}", line.strip())


def _html_docs(corpus: str, artifact: str, pattern: str) -> Iterator[Document]:
    root = unpacked(ARTIFACTS[artifact])
    for path in sorted(root.glob(pattern)):
        if not path.is_file() or path.name in ("search.html", "genindex.html") or path.name.startswith("index."):
            continue
        for i, text in enumerate(html_sections(path.read_text(encoding="utf-8", errors="replace"))):
            yield Document(corpus, f"{artifact}:{path.relative_to(root)}:{i}", text)


def policies() -> Iterator[Document]:
    yield from _html_docs("policy", "debian-policy", "usr/share/doc/debian-policy/**/*.html")


def manuals() -> Iterator[Document]:
    for lang in ("en", "de", "ja"):
        yield from _html_docs(f"manual-{lang}", f"debian-reference-{lang}", f"usr/share/debian-reference/*.{lang}.html")


def manpages() -> Iterator[Document]:
    for corpus, artifact in (("manpages-en", "manpages"), ("manpages-de", "manpages-de")):
        root = unpacked(ARTIFACTS[artifact])
        for path in sorted(root.glob("usr/share/man/**/*.gz")):
            raw = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
            if raw.startswith(".so "):
                continue  # an alias of another page
            text = roff_text(raw)
            if len(text) >= MIN_CHARS:
                yield Document(corpus, f"{artifact}:{path.relative_to(root)}", text[:MAX_CHARS])


def emails() -> Iterator[Document]:
    root = unpacked(ARTIFACTS["libpython3.11-testsuite"]) / "usr/lib/python3.11/test/test_email/data"
    for path in sorted(root.glob("msg_*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) >= MIN_CHARS:
            yield Document("email", f"cpython:{path.name}", text)


_CHANGELOG_ENTRY = re.compile(r"^\S.*\) \S+; urgency=.*$", re.MULTILINE)


def tickets() -> Iterator[Document]:
    """Changelog entries of the policy and the manual: change requests with their bug numbers and reviewers."""
    for artifact, relative in (
        ("debian-policy", "usr/share/doc/debian-policy/changelog.gz"),
        ("debian-reference-en", "usr/share/doc/debian-reference-en/changelog.gz"),
    ):
        text = gzip.decompress((unpacked(ARTIFACTS[artifact]) / relative).read_bytes()).decode("utf-8", "replace")
        starts = [m.start() for m in _CHANGELOG_ENTRY.finditer(text)] + [len(text)]
        for i, (start, end) in enumerate(itertools.pairwise(starts)):
            entry = html.unescape(text[start:end].strip())
            if len(entry) >= MIN_CHARS:
                yield Document("tickets", f"{artifact}:changelog:{i}", entry[:MAX_CHARS])


def documents() -> list[Document]:
    """Every benign document, each once (the first of identical texts)."""
    seen: set[str] = set()
    out = []
    for doc in _chain(news(), policies(), manuals(), manpages(), emails(), tickets()):
        if doc.text not in seen:
            seen.add(doc.text)
            out.append(doc)
    return out


def _chain(*sources: Iterable[Document]) -> Iterator[Document]:
    for source in sources:
        yield from source


def main() -> None:
    docs = documents()
    counts: dict[str, list[int]] = {}
    for doc in docs:
        counts.setdefault(doc.corpus, []).append(len(doc.text))
    for corpus, lengths in sorted(counts.items()):
        lengths.sort()
        print(f"{corpus:14} {len(lengths):5} docs, chars median {lengths[len(lengths) // 2]}, max {lengths[-1]}")


if __name__ == "__main__":
    main()

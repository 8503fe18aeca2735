"""The chat page's budget (issue 12): at most 100 KB before compression, nothing loaded from a third party, and
nothing inline, so the strict CSP (script-src 'self', style-src 'self') holds."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
BUDGET_BYTES = 100 * 1024
SHIPPED = {".html", ".css", ".js", ".svg"}


def page_files() -> list[Path]:
    return sorted(path for path in WEB.rglob("*") if path.is_file())


def test_the_page_weighs_at_most_100_kb():
    files = page_files()
    assert {path.suffix for path in files} <= SHIPPED, "a new kind of file: count it and check it here"
    assert {path.relative_to(WEB).as_posix() for path in files} >= {"index.html", "styles.css", "js/main.js"}
    total = sum(path.stat().st_size for path in files)
    assert total <= BUDGET_BYTES, f"web/ is {total} bytes, over the {BUDGET_BYTES}-byte budget"


def test_nothing_is_loaded_from_another_origin():
    for path in page_files():
        text = re.sub(r'xmlns="[^"]*"', "", path.read_text(encoding="utf-8"))  # a namespace name, never fetched
        assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I) == [], path.name
        assert "@import" not in text, path.name


def test_nothing_inline_that_the_csp_would_refuse():
    html = (WEB / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == ['<script type="module" src="js/main.js">'], scripts
    assert "</script>" in html
    assert re.search(r"<script[^>]*>\s*\S+\s*</script>", html) is None
    assert re.search(r"\sstyle=|<style\b|\son[a-z]+=", html) is None
    for path in (WEB / "js").glob("*.js"):
        code = path.read_text(encoding="utf-8")
        assert re.search(r"\binnerHTML\b|\beval\(|new Function\b|insertAdjacentHTML", code) is None, path.name

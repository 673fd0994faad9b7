"""Relative links in README.md and docs/*.md point at files (and headings) that exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in _LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    headings = re.findall(r"^#{1,6}\s+(.*?)\s*$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    broken = [target for target in _links(page) if not _resolves(page, target)]
    assert broken == [], f"{page.name}: broken links {broken}"


def _resolves(page: Path, target: str) -> bool:
    path, _, anchor = target.partition("#")
    file = (page.parent / path).resolve() if path else page
    if not file.exists():
        return False
    return not anchor or file.suffix != ".md" or anchor in _anchors(file)


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=lambda p: p.name)
def test_no_doc_names_a_path_outside_the_repository(page: Path) -> None:
    assert "../shared" not in page.read_text(encoding="utf-8")
    for target in _links(page):
        path = (page.parent / target.partition("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{page.name} links outside: {target}"


def test_the_link_check_catches_a_missing_file_or_heading(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text(
        "# Top (顶)\n[a](nowhere.md) [b](https://example.com)\n```\n[c](in-code.md)\n```\n"
    )
    assert _links(page) == ["nowhere.md"]
    assert not _resolves(page, "nowhere.md")
    assert _resolves(page, "#top-顶")
    assert not _resolves(page, "#bottom")

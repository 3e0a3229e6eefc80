"""The documentation stands on its own: every link between its pages resolves inside the
repository, and style and decisions are read from docs/style.md, not from a file beside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "DEVELOPERS.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_links_resolve_to_files_in_the_repository(page):
    links = _links(page)
    bad = []
    for target in links:
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            bad.append(target)
    assert bad == [], f"{page.name}: links that leave the repository or name no file"


def test_the_style_guide_is_inside_the_repository_and_linked():
    assert (ROOT / "docs" / "style.md").is_file()
    for page in PAGES:
        assert "DESIGN.md" not in page.read_text(encoding="utf-8"), page.name
    for page in ("README.md", "DEVELOPERS.md", "docs/architecture.md"):
        assert any(t.endswith("style.md") for t in _links(ROOT / page)), page

"""benchmarks/frontier.py: a plot redrawn from the results file's tables."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RESULTS = """# Results

## toy: peers

Produced by a command.

| model | macro F1 | fit s | fit CPU s | predict s |
|---|---|---|---|---|
| tt: recipe | 0.50 | 10 | 20.5 | 1.5 |
| peer that failed | – | – | – | – |
| peer | 0.40 | 5 | 4 | 0.5 |

### toy: rerun

| model | macro F1 | fit CPU s | predict s |
|---|---|---|---|
| peer | 0.45 | 8 | 1 |

## next
"""


@pytest.fixture(scope="module")
def frontier():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import frontier
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return frontier


def test_rows_of_a_section_skip_failed_rows_and_stop_at_the_next_heading(frontier):
    rows = frontier.table_rows(RESULTS, "toy: peers")
    assert rows == [
        {"model": "tt: recipe", "macro_f1": 0.5, "fit_s": 20.5, "predict_s": 1.5},
        {"model": "peer", "macro_f1": 0.4, "fit_s": 4.0, "predict_s": 0.5},
    ]
    assert frontier.table_rows(RESULTS, "toy: rerun") == [
        {"model": "peer", "macro_f1": 0.45, "fit_s": 8.0, "predict_s": 1.0}
    ]
    with pytest.raises(SystemExit, match="no section 'toy: nope'"):
        frontier.table_rows(RESULTS, "toy: nope")


def test_the_script_draws_both_sections_tagged(frontier, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    results = tmp_path / "RESULTS.md"
    results.write_text(RESULTS, encoding="utf-8")
    out = tmp_path / "f.png"
    argv = ["frontier.py", "--results", str(results), "--section", "toy: peers",
            "--section", "toy: rerun", "--tag", "", "--tag", " (rerun)", "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    frontier.main()
    assert out.stat().st_size > 10_000 and out.read_bytes()[:4] == b"\x89PNG"

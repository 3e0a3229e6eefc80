"""benchmarks/hierarchy_sklearn.py on a tiny hierarchy whose texts tell the Product always and
the Issue only sometimes: the Product is always right, and back-off answers vague texts at the
Product level only."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hierarchy_sklearn.py"
WORDS = {
    ("A", "x"): "mortgage escrow",
    ("A", "y"): "mortgage foreclosure",
    ("B", "x"): "card fee",
    ("B", "y"): "card fraud",
}


def _frame(clear: int, vague: int, tag: str) -> pd.DataFrame:
    rows = []
    for path, words in WORDS.items():
        rows += [(f"{words} {tag}{i}", path) for i in range(clear)]
        # a vague text names the product only: its Issue is a guess
        rows += [(f"{words.split()[0]} {tag}{i} complaint", path) for i in range(vague)]
    return pd.DataFrame(rows, columns=["text", "path"])


def test_flat_decodings_and_backoff_on_a_tiny_hierarchy():
    spec = importlib.util.spec_from_file_location("hierarchy_sklearn", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    fit, val, test = _frame(10, 0, "f"), _frame(4, 4, "v"), _frame(5, 5, "t")
    result = bench.evaluate(fit, val, test, ("Product", "Issue"), [0.9])
    assert result["sizes"] == {"fit": 40, "val": 32, "test": 40, "leaves": 4}
    flat = result["rows"]["flat composite"]
    assert flat["levels"]["Product"]["accuracy"] == 1.0
    # every mistake is an Issue under the right Product: sibling errors only
    assert flat["errors"]["wrong_branch"] == 0 and flat["errors"]["sibling"] > 0
    issue_acc = flat["levels"]["Issue"]["accuracy"]
    assert issue_acc < 1.0
    assert flat["hierarchical"]["h_f1"] == pytest.approx((1.0 + issue_acc) / 2)
    summed = result["rows"]["flat leaves, parents summed"]
    assert summed["levels"]["Product"]["accuracy"] == 1.0

    back = result["rows"]["back-off p>=0.9"]
    levels = back["backoff"]["levels"]
    assert levels["Product"] == {"answered": 40, "coverage": 1.0, "correct": 40, "precision": 1.0}
    assert 0 < levels["Issue"]["coverage"] < 1.0
    assert levels["Issue"]["precision"] > issue_acc  # answers kept are the surer ones
    assert back["hierarchical"]["h_precision"] > flat["hierarchical"]["h_precision"]
    assert result["rules"]["0.9"]["target_precision"] == [0.9, 0.9]

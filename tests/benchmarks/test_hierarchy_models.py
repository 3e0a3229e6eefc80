"""benchmarks/hierarchy_models.py on a tiny hierarchy whose texts tell the Product always and
the Issue only sometimes: every row the script prints, with the figures a model trained here
gives, and top-down routing losses that match the wrong-branch count."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.benchmarks.test_hierarchy_sklearn import _frame

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hierarchy_models.py"


def test_every_row_on_a_tiny_hierarchy(capsys):
    spec = importlib.util.spec_from_file_location("hierarchy_models", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    fit, val, test = _frame(10, 2, "f"), _frame(4, 4, "v"), _frame(5, 5, "t")
    levels = ("Product", "Issue")
    rows = bench.evaluate(fit, val, test, levels, [0.9], lambda r: bench.print_rows(r, levels))
    names = ["flat composite", "flat, parents summed", "flat, back-off p>=0.9",
             "top-down per level", "top-down per level, back-off p>=0.9",
             "top-down per parent", "top-down per parent, back-off p>=0.9"]  # fmt: skip
    assert sorted(rows) == sorted(names)
    out = capsys.readouterr().out
    assert all(name in out for name in names) and "McNemar" in out
    for name in ("flat composite", "top-down per level", "top-down per parent"):
        m = rows[name]
        assert m["levels"]["Product"]["accuracy"] == 1.0  # the Product is always in the text
        assert m["errors"]["wrong_branch"] == 0
        issue = m["levels"]["Issue"]["accuracy"]
        assert m["hierarchical"]["h_f1"] == pytest.approx((1.0 + issue) / 2)
    for per in ("level", "parent"):
        m = rows[f"top-down per {per}"]
        # the Issue a wrong Product hides: none here
        assert m["routing"]["Issue"]["routing_lost"] == m["errors"]["wrong_branch"] == 0
        # the Products agree with the baseline's (all right): no discordant rows at that level
        assert m["paired"]["Product"] == {"only_flat": 0, "only_summed": 0, "p_value": 1.0}
        back = rows[f"top-down per {per}, back-off p>=0.9"]
        assert back["thresholds"][0] is not None
        assert back["backoff"]["levels"]["Product"]["precision"] == 1.0

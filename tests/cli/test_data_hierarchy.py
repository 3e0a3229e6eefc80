"""``tailtune data stats`` with ``data.hierarchy``: per-level statistics, and bad paths as one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tailtune import cli

pytestmark = pytest.mark.unit

CSV = "text,P,I\none,A,x\ntwo,A,y\nthree,B,x\nfour,C,\nfive,A,x\n"


def _run(*args):
    return CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})


def test_stats_per_level(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(CSV)
    base = ["data", "stats", str(p), "--label-col", "P", "--label-col", "I"]
    res = _run(*base, "--set", "data.hierarchy=true", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["load"]["rows"] == 5  # 'four' stops at level P instead of being removed
    top, issue = out["levels"]
    assert (top["level"], top["classes"], top["rows"], top["leaves"]) == ("P", 3, 5, 1)
    assert (issue["level"], issue["classes"], issue["rows"]) == ("I", 3, 4)
    assert issue["counts"] == {"A | x": 2, "A | y": 1, "B | x": 1}
    assert issue["children_per_parent"] == {"min": 1, "median": 1.5, "max": 2}
    assert issue["names_under_several_parents"] == 1  # x under A and under B
    table = _run(*base, "--set", "data.hierarchy=true")
    assert table.exit_code == 0 and "Per level" in table.stdout
    flat = json.loads(_run(*base, "--json").stdout)
    assert "levels" not in flat and flat["load"]["rows"] == 4


def test_separator_inside_a_name_is_one_error_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text('text,P,I\none,"A | B",x\ntwo,C,y\n')
    res = subprocess.run(
        [sys.executable, "-m", "tailtune", "data", "stats", str(p), "--label-col", "P",
         "--label-col", "I", "--set", "data.hierarchy=true"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout
    err = res.stderr.strip()
    assert err.startswith("error: data: label 'A | B | x' has 3 levels, expected at most 2 (P, I)")
    assert "\n" not in err

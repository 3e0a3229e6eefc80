"""``tailtune data stats`` / ``data split`` on label sets, and training on sets as one clear line."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from tailtune import cli

pytestmark = pytest.mark.unit

CSV = 'text,tags\none,"a,b"\ntwo,a\nthree,"a,c"\nfour,b\nfive,a\nsix,"b,c"\nseven,a\neight,b\n'
SETS = ["--set", "data.multi_label=sets", "--set", "data.multi_label_separator=,"]


def _run(*args):
    return CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})


def test_stats_count_labels_inside_sets(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(CSV)
    res = _run("data", "stats", str(p), "--label-col", "tags", *SETS, "--json")
    assert res.exit_code == 0, res.output
    st = json.loads(res.stdout)["stats"]
    assert st["counts"] == {"a": 5, "b": 4, "c": 2}
    assert st["labels_per_text"] == {"0": 0, "1": 5, "2": 3, "3+": 0}
    table = _run("data", "stats", str(p), "--label-col", "tags", *SETS)
    assert table.exit_code == 0 and "Most frequent label pairs" in table.stdout


def test_split_writes_sets_that_read_back(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(CSV)
    out = tmp_path / "split"
    res = _run("data", "split", str(p), "-o", str(out), "--val", "0.25", "--label-col", "tags",
               *SETS)  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((out / "split.json").read_text())
    assert report["stratify"].startswith("iterative")
    assert report["rows"]["train"] + report["rows"]["val"] == 8
    back = _run("data", "stats", str(out / "train.csv"), *SETS, "--json")
    assert set(json.loads(back.stdout)["stats"]["counts"]) == {"a", "b", "c"}


def test_a_backend_without_sets_is_one_line(tmp_path, monkeypatch, capsys):
    p = tmp_path / "d.csv"
    p.write_text(CSV)
    args = ["train", "--set", f"data.path={p}", "--set", "data.label_columns=[tags]", *SETS,
            "--set", f"runs_dir={tmp_path / 'runs'}", "--set", "model.backend=majority"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["tailtune", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: data.multi_label: sets: backend 'majority' does not train on")
    assert err.count("\n") == 1
    assert not (tmp_path / "runs").exists()

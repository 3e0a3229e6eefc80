"""End to end on the command line: train a top-down hierarchical run with back-off, then
``predict`` (the path, the back-off answer, each level's probability), ``errors`` and the
training summary (per-level metrics, hF1, sibling vs wrong-branch mistakes)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tailtune import cli

pytestmark = pytest.mark.integration

# Product -> Issue -> Sub-issue; "fee" repeats under two products; "None" ends a path (as in
# CFPB's payday file); texts name product and issue words
ROWS = {
    ("bank", "fee", "None"): "overdraft charge",
    ("bank", "fraud", "card stolen"): "stolen thief",
    ("bank", "fraud", "identity"): "identity impersonated",
    ("card", "fee", "None"): "annual yearly",
}


def _csv(tmp_path):
    lines = ["text,Product,Issue,Sub-issue"]
    for (product, issue, sub), words in ROWS.items():
        for i in range(20):
            lines.append(f"my {product} account {words} {i},{product},{issue},{sub}")
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(*args):
    return CliRunner().invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_train_predict_and_errors_of_a_hierarchical_run(tmp_path):
    data = _csv(tmp_path)
    sets = [
        f"data.path={data}",
        "data.label_columns=[Product, Issue, Sub-issue]",
        "data.hierarchy=true",
        f"runs_dir={tmp_path / 'runs'}",
        "split.val=0.25",
        "model.hierarchy.strategy=top_down",
        "model.hierarchy.per=parent",
        "model.hierarchy.backoff_thresholds=[0.5, 0.6, 0.99]",
    ]
    res = _run("train", *[x for s in sets for x in ("--set", s)])
    assert res.exit_code == 0, res.output
    assert "Per level (val)" in res.stdout and "hierarchical P/R/F1" in res.stdout
    (run,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and p.name[0] != "."]
    labels = json.loads((run / "labels.json").read_text())
    # "None" is no class: those paths stop at the Issue
    assert labels["classes"] == ["bank | fee", "bank | fraud | card stolen",
                                 "bank | fraud | identity", "card | fee"]  # fmt: skip

    res = _run("predict", run, "--text", "my card account annual yearly 3",
               "--text", "my bank account identity impersonated 7")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "card | fee" in res.stdout and "Product" in res.stdout

    texts = tmp_path / "new.txt"
    texts.write_text("my bank account stolen thief 2\nmy card account annual yearly 5\nhello\n")
    out = tmp_path / "p.csv"
    res = _run("predict", run, "--input", texts, "--output", out)
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert frame["pred"].tolist()[:2] == ["bank | fraud | card stolen", "card | fee"]
    tree = labels["hierarchy"]
    for pred, answer, lp in zip(frame["pred"], frame["answer"], frame["level_proba"],
                                strict=True):  # fmt: skip
        assert pred in tree["leaves"]
        probs = json.loads(lp)
        # the answer keeps the leading levels that clear their thresholds, else "unknown"
        keep = 0
        for level, t in zip(["Product", "Issue", "Sub-issue"], [0.5, 0.6, 0.99], strict=True):
            if level not in probs or probs[level] < t:
                break
            keep += 1
        expect = " | ".join(pred.split(" | ")[:keep]) or "unknown"
        assert answer == expect
        # a node is at least as probable as its child (parents summed from leaves)
        values = list(probs.values())
        assert all(a >= b - 1e-9 for a, b in zip(values, values[1:], strict=False))

    res = _run("evaluate", run, "--data", data)
    assert res.exit_code == 0, res.output
    assert "Per level (eval)" in res.stdout and "hierarchical P/R/F1" in res.stdout

    res = _run("errors", run, "--split", "val")
    assert res.exit_code == 0, res.output
    assert "Per level (val)" in res.stdout and "prec." in res.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["val"]["hierarchy"]["levels"]) == {"Product", "Issue", "Sub-issue"}
    assert metrics["info"]["strategy"] == "top_down"

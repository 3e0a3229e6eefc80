"""A hierarchy tailtune has never seen, used as a new user would: from a folder outside the
repository, through the command line only, with a config file beside the data.

The tree: paths written in one column with ``" > "`` between levels, three levels, a parent with
one child (``positive > pride > pride``), paths that stop at the top (``neutral``) or end with an
empty level (``"negative > "``), a row with a gap (removed and listed), a separate validation
file holding a leaf path training never saw, and a test file (so the model is refitted on train +
validation). Every model (flat, top-down per level and per parent, back-off at a target
precision) trains, predicts, evaluates, reports, serves and shows ``errors`` per level, and the
top-down ones export and serve from the export folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tailtune import cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # four runs end to end: about a minute

WORDS = {
    "positive > joy > love": "adore cherish",
    "positive > joy > gratitude": "thanks grateful",
    "positive > pride > pride": "proud accomplished",
    "negative > anger > anger": "furious rage",
    "negative > anger > annoyance": "annoying irritated",
    "negative > sadness > grief": "mourning loss",
    "neutral": "weather tuesday",
}
VAL_ONLY = "negative > sadness > remorse"  # a leaf path seen only in validation
MODELS = {
    "flat": {"strategy": "flat"},
    "level": {"strategy": "top_down", "per": "level"},
    "parent": {"strategy": "top_down", "per": "parent"},
    "backoff": {"strategy": "top_down", "per": "parent", "backoff_precision": 0.9},
}


def _write(folder, name, rows):
    pd.DataFrame(rows, columns=["comment", "feeling"]).to_csv(folder / name, index=False)


def _data(folder):
    rows = {"train.csv": [], "val.csv": [], "test.csv": []}
    for path, words in WORDS.items():
        for i in range(24):
            split = "train.csv" if i < 14 else "val.csv" if i < 19 else "test.csv"
            rows[split].append((f"so {words.split()[i % 2]} today {i}", path))
    rows["train.csv"] += [
        ("sad but not sure", "negative > "),  # ends at negative
        ("a gap in the path", "negative >  > grief"),
    ]  # removed, listed
    rows["val.csv"] += [(f"so sorry regret {i}", VAL_ONLY) for i in range(3)]
    rows["test.csv"] += [(f"so sorry regret {i}", VAL_ONLY) for i in range(3, 5)]
    # texts that say another path's words: mistakes, one under the right parent, one not
    rows["test.csv"] += [("so adore today", "positive > joy > gratitude"),
                         ("so furious today", "positive > joy > love")]  # fmt: skip
    for name, r in rows.items():
        _write(folder, name, r)


def _config(folder, key):
    hierarchy = "\n".join(f"    {k}: {v}" for k, v in MODELS[key].items())
    (folder / f"{key}.yaml").write_text(f"""# tailtune train {key}.yaml
name: feel-{key}
runs_dir: runs
seed: 3
data:
  path: train.csv
  val_path: val.csv
  test_path: test.csv
  text_columns: [comment]
  label_columns: [feeling]
  hierarchy: true
  label_separator: " > "
  level_names: [sentiment, group, emotion]
model:
  backend: tfidf
  hierarchy:
{hierarchy}
""")


def _cli(*args):
    return CliRunner().invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    folder = tmp_path / "my-project"
    folder.mkdir()
    monkeypatch.chdir(folder)  # relative paths, as a user types them
    _data(folder)
    for key in MODELS:
        _config(folder, key)
    return folder


def test_every_model_end_to_end_on_an_unseen_hierarchy(user_folder):
    from fastapi.testclient import TestClient

    from tailtune.serve.app import create_app

    res = _cli("data", "stats", "train.csv", "--config", "flat.yaml")
    assert res.exit_code == 0, res.output
    assert "Per level" in res.stdout and "sentiment" in res.stdout
    probe = ["so adore today", "so proud today", "so sorry regret"]
    for key in MODELS:
        with pytest.warns(UserWarning, match=f"never seen in training, e.g. .'{VAL_ONLY}'"):
            res = _cli("train", f"{key}.yaml")
        assert res.exit_code == 0, res.output
        assert "99 train / 38 val / 39 test" in res.stdout  # the gap row is removed
        assert "Per level (test)" in res.stdout and "hierarchical P/R/F1" in res.stdout
        if key != "flat":  # the selection model's per-level figures, though the run refitted
            assert "hierarchical, top-down (validation):" in res.stdout
        (run,) = [p for p in (user_folder / "runs").iterdir() if p.name.startswith(f"feel-{key}")]
        tree = json.loads((run / "labels.json").read_text())["hierarchy"]
        assert tree["levels"] == ["sentiment", "group", "emotion"]
        # the training split's tree: "negative > " ends at negative, the gap row is no class
        assert "negative" in tree["leaves"] and "negative >" not in tree["leaves"]
        assert tree["children"]["positive > pride"] == ["positive > pride > pride"]
        res = _cli("predict", run, *[x for t in probe for x in ("--text", t)])
        assert res.exit_code == 0, res.output
        assert "positive > joy > love" in res.stdout and "positive > pride > pride" in res.stdout
        assert VAL_ONLY in res.stdout  # the refit on train + validation learned it
        res = _cli("evaluate", run, "--data", "test.csv")
        assert res.exit_code == 0, res.output
        assert "Per level (eval)" in res.stdout and "emotion" in res.stdout
        res = _cli("errors", run)
        assert res.exit_code == 0, res.output
        assert "Per level (test)" in res.stdout and "wrong paths" in res.stdout
        if key == "backoff":
            assert "cov." in res.stdout and "back-off:" in res.stdout
        res = _cli("report", run, "-o", f"{key}.html")
        assert res.exit_code == 0, res.output
        html = (user_folder / f"{key}.html").read_text()
        assert "Kiritchenko" in html and "sentiment" in html
        with TestClient(create_app(run)) as client:
            got = client.post("/predict", json={"texts": probe}).json()["predictions"]
        assert got[0]["label"] == "positive > joy > love"
        assert set(got[1]["levels"]) == {"sentiment", "group", "emotion"}
        if key in ("level", "backoff"):  # the top-down models leave tailtune too
            res = _cli("export", run, "--format", "sklearn", "-o", f"exports/{key}")
            assert res.exit_code == 0, res.output
            assert "paths 100.00%, back-off answers 100.00%" in res.stdout
            with TestClient(create_app(user_folder / "exports" / key)) as client:
                served = client.post("/predict", json={"texts": probe}).json()["predictions"]
            assert [g["answer"] for g in served] == [g["answer"] for g in got]

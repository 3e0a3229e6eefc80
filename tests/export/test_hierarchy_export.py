"""Exporting a hierarchical run: a flat model's leaf probabilities go out as usual and
export.json carries the decision rule (tree, decoding, back-off) that turns them into the run's
own paths and answers; a top-down model is refused in one line."""

from __future__ import annotations

import json

import pytest

from tailtune.config import config_from_dict
from tailtune.errors import TailtuneError
from tailtune.export import export_run
from tailtune.objectives.path_decision import PathDecision
from tailtune.workflow import predict, train

pytestmark = pytest.mark.integration

WORDS = {("bank", "fee"): "overdraft", ("bank", "fraud"): "stolen", ("card", "fee"): "annual"}


def _run(tmp_path, **hierarchy):
    lines = ["text,Product,Issue"]
    for (product, issue), word in WORDS.items():
        lines += [f"my {product} {word} {i},{product},{issue}" for i in range(16)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    return train(config_from_dict({
        "runs_dir": str(tmp_path / "runs"), "seed": 1,
        "data": {"path": str(tmp_path / "d.csv"), "label_columns": ["Product", "Issue"],
                 "hierarchy": True},
        "split": {"val": 0.25},
        "model": {"hierarchy": hierarchy},
    }))  # fmt: skip


def test_sklearn_export_carries_the_decision_rule(tmp_path):
    skops = pytest.importorskip("skops.io")
    run = _run(tmp_path, backoff_thresholds=[0.6, 0.99])
    report = export_run(run, "sklearn", tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "export.json").read_text())
    assert meta["decision"] == report["decision"]
    decision = PathDecision.from_dict(meta["decision"], "export.json")
    assert decision.rule.thresholds == (0.6, 0.99)
    path = tmp_path / "out" / "pipeline.skops"
    pipe = skops.load(path, trusted=skops.get_untrusted_types(file=path))
    texts = ["my card annual 3", "my bank stolen 9", "hello there"]
    out = decision.describe(pipe.predict_proba(texts), list(pipe.classes_))
    want = predict(run, texts)
    assert out["path"] == want["pred"].tolist() and out["answer"] == want["answer"].tolist()


def test_top_down_run_is_refused_in_one_line(tmp_path):
    run = _run(tmp_path, strategy="top_down")
    with pytest.raises(
        TailtuneError, match="top-down hierarchical model chooses .*model.hierarchy.strategy: flat"
    ):
        export_run(run, "sklearn", tmp_path / "out")
    assert not (tmp_path / "out").exists()

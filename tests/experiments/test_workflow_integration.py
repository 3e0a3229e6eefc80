"""The real train workflow under an experiment: tiny synthetic data, majority vs TF-IDF."""

from __future__ import annotations

import pytest

from tailtune.experiments import run_experiment
from tailtune.runs import list_runs, read_run

pytestmark = pytest.mark.integration


def test_majority_vs_tfidf_on_tiny_data(write_exp, tmp_path):
    path = write_exp("backend", vary={"model.backend": ["majority", "tfidf"]}, seeds=[1, 2])
    res = run_experiment(path)  # the default trainer: tailtune.workflow.train
    assert len(res.executed) == 4 and not res.failed
    cells = res.record["result"]["cells"]
    for run in cells[0]["runs"]:  # majority: accuracy is the share of the most frequent gold label
        preds = read_run(run["run_dir"]).split_predictions("val")
        share = preds["gold"].value_counts().iloc[0] / len(preds)
        assert run["accuracy"] == pytest.approx(share)
        assert preds["pred"].nunique() == 1
    assert cells[1]["macro_f1"]["mean"] > cells[0]["macro_f1"]["mean"] + 0.2
    comp = res.record["meaningful"]["comparisons"][0]
    assert comp["verdict"] == "meaningful" and len(comp["paired_bootstrap"]) == 2
    assert "`model.backend`" not in res.record["held_constant"]
    assert res.record["held_constant"]["data.synthetic"] == "tiny"
    idx = list_runs(tmp_path / "runs", where=["experiment=backend"], sort="macro_f1")
    assert list(idx["backend"]) == ["tfidf", "tfidf", "majority", "majority"]
    again = run_experiment(path)
    assert len(again.skipped) == 4 and again.executed == []

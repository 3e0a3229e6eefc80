"""The report on a run with validation and test: side-by-side headline, the chosen split below,
the refit card, the selection-phase curves, the advice section, comparisons on a shared split."""

from __future__ import annotations

import json
import re
from html import unescape

import numpy as np
import pytest

from tailtune.errors import DataError
from tailtune.report import build_report, report_context
from tailtune.runs import read_run
from tests.evaluation.conftest import long_tail_case, write_run
from tests.report.conftest import _history

pytestmark = pytest.mark.unit

REFIT = {
    "enabled": True, "why": "auto: a test split is given", "rows": 9000, "selection_rows": 8100,
    "choices": {"objective__posthoc_tau": 1.0, "train__max_steps": 480},
    "steps": [{"stage": "model", "selected_step": 432, "refit_steps": 480}],
    "step_rule": "epochs kept: steps x n_refit / n_selection", "fit_s": 12.5,
    "selection_test": {"accuracy": 0.61, "macro_f1": 0.4321, "zero_f1": 7, "n_classes": 30,
                       "n_examples": 500},
}  # fmt: skip


@pytest.fixture(scope="module")
def refit_run(tmp_path_factory):
    """A refit run: validation from a vanilla-like predictor, test from a re-weighted one."""
    root = tmp_path_factory.mktemp("split_runs")
    g, p, pr, train, _ = long_tail_case(seed=0)
    tg, tp, tpr, *_ = long_tail_case(seed=1, weighted=True)
    test = {"gold": tg, "pred": tp, "probs": tpr, "ids": [f"t:{i}" for i in range(len(tg))]}
    return write_run(root, "refit", gold=g, pred=p, probs=pr, train_counts=train, test=test,
                     refit=REFIT, history=_history([1.9, 1.5, 1.45, 1.5], [0.4, 0.52, 0.56, 0.58]))  # fmt: skip


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_headline_shows_validation_and_test_side_by_side(refit_run):
    run = read_run(refit_run)
    ctx = report_context([run], n_boot=100)
    assert ctx["split"] == "test"  # the default when the run has test predictions
    cols = ctx["runs"][0]["headline"]
    assert [c["split"] for c in cols] == ["val", "test"]
    assert [c["model"] for c in cols] == ["selection model", "refit model"]
    assert [c["chosen"] for c in cols] == [False, True]
    for c in cols:
        m = run.metrics[c["split"]]
        assert c["macro_f1"]["value"] == pytest.approx(m["macro_f1"])
        assert c["accuracy"]["value"] == pytest.approx(m["accuracy"])
        assert c["macro_f1"]["low"] <= m["macro_f1"] <= c["macro_f1"]["high"]
        assert c["zero_f1"] == m["zero_f1"]
        assert c["tiers"]["tail"]["mean_f1"] == pytest.approx(m["tiers"]["tail"]["mean_f1"])
    # the sections below read the chosen split: test's examples, not validation's
    sec = ctx["runs"][0]
    assert sec["support"]["n_examples"] == run.metrics["test"]["n_examples"]
    assert sum(t["support"] for t in sec["tiers"]) == run.metrics["test"]["n_examples"]


def test_split_val_reads_validation_below(refit_run):
    ctx = report_context([read_run(refit_run)], n_boot=100, split="val")
    sec = ctx["runs"][0]
    assert ctx["split"] == "val" and [c["chosen"] for c in sec["headline"]] == [True, False]
    assert sec["support"]["n_examples"] == read_run(refit_run).metrics["val"]["n_examples"]


def test_refit_card_and_selection_phase_curves(refit_run, tmp_path):
    html = build_report(refit_run, tmp_path / "r.html", n_boot=100).read_text()
    text = _text(html)
    assert "validation and test, side by side" in text
    assert (
        "Refit" in text
        and "9,000" in text
        and "8,100 training rows (the selection model's) + 900 validation rows" in text
    )
    assert "432 → 480" in text and "objective__posthoc_tau" in text and "train__max_steps" in text
    test_f1 = read_run(refit_run).metrics["test"]["macro_f1"]
    assert (
        f"{test_f1:.3f}" in text and "selection model on the same test rows: macro F1 0.432" in text
    )
    assert f"({test_f1 - 0.4321:+.3f} by refitting)" in text
    assert "Training curves and diagnosis selection phase" in text
    assert "Selection phase: the model trained on train only, evaluated on validation" in text
    assert "Per tier test split" in text and "Noise floor test split" in text
    assert "Error analysis test split · the refit model" in text
    assert text.count("Tiers by training count: fixed (head >= 2,000, tail < 100)") == 3


def test_advice_section_when_the_run_has_advice(refit_run, tmp_path):
    folder = refit_run / "advice"
    folder.mkdir(exist_ok=True)
    alloc = [{"label": "c29", "tier": "tail", "n_train": 3, "add": 40, "f1_now": 0.1,
              "f1_after": 0.55, "gain": 0.015, "low": 0.004, "high": 0.02}]  # fmt: skip
    advice = {
        "budget": 200, "backend": "tfidf", "runs": {"n": 9}, "figure": None, "confusable": [],
        "plan": {"predicted_gain": 0.0312, "low": 0.01, "high": 0.05, "spent": 200,
                 "allocations": alloc},
        "alternatives": {"uniform": {"predicted_gain": 0.011, "low": 0.0, "high": 0.02}},
    }  # fmt: skip
    try:
        (folder / "advice.json").write_text(json.dumps(advice))
        text = _text(build_report(refit_run, tmp_path / "a.html", n_boot=100).read_text())
        assert "Where more labels help" in text and "Plan for 200 new examples" in text
        assert "+0.0312" in text and "c29" in text and "uniform" in text
        (folder / "advice.json").write_text("{}")  # unreadable: a note, never a failed report
        text = _text(build_report(refit_run, tmp_path / "b.html", n_boot=100).read_text())
        assert "advice.json unreadable" in text
    finally:
        (folder / "advice.json").unlink()
        folder.rmdir()
    no_advice = _text(build_report(refit_run, tmp_path / "c.html", n_boot=100).read_text())
    assert "Where more labels help" not in no_advice


def test_comparison_uses_the_shared_split(refit_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    g, p, pr, train, _ = long_tail_case(seed=0)
    val_only = write_run(root, "valonly", gold=g, pred=p, probs=pr, train_counts=train)
    ctx = report_context([read_run(refit_run), read_run(val_only)], n_boot=100)
    assert ctx["split"] == "val"  # test is not shared: both runs are compared on validation
    assert ctx["comparison"]["rows"][1]["paired"]["n_examples"] == len(g)
    with pytest.raises(DataError, match="valonly: no 'test' split"):
        report_context([read_run(refit_run), read_run(val_only)], n_boot=100, split="test")
    tg, tp, *_ = long_tail_case(seed=1)
    only_test = write_run(root, "onlytest", gold=[], pred=[], train_counts=train, val=False,
                          test={"gold": tg, "pred": tp})  # fmt: skip
    with pytest.raises(DataError, match="share no val or test split"):
        report_context([read_run(val_only), read_run(only_test)], n_boot=100)
    assert np.isfinite(ctx["runs"][0]["ci"]["macro_f1"]["value"])

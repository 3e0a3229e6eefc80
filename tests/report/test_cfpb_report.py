"""The issue's "done when" on real data: two CFPB-sample runs (unweighted, sqrt-inverse).

TF-IDF + LinearSVC on unigrams keeps each run under ~20 s on two shared cores; the split is the
config's (seed 42, 20% stratified), so the validation facts below are pinned.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tailtune.evaluation.errors import error_report
from tailtune.evaluation.noise import noise_report
from tailtune.report import build_report
from tailtune.runs import read_run
from tests.report.test_report_browser import CHROMIUM, check_page, screenshot

pytestmark = pytest.mark.data

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("TAILTUNE_SHARED_DATA", REPO / "../shared/data")).resolve()
CFPB = DATA / "cfpb"


@pytest.fixture(scope="module")
def cfpb_runs(tmp_path_factory):
    if not (CFPB / "bdm_complaints_sample_2015-2020.csv").is_file():
        pytest.skip(f"{CFPB} not available")
    from tailtune.config import load_config
    from tests.parallel_runs import train_side_by_side

    runs_dir = tmp_path_factory.mktemp("cfpb_runs")
    paths = [str(CFPB / "bdm_complaints_sample_2015-2020.csv"),
             str(CFPB / "payday_personal_loan_narratives_2023.csv")]  # fmt: skip
    fast = [f"runs_dir={runs_dir}", f"data.path=[{paths[0]},{paths[1]}]",
            "model.tfidf.classifier=linear_svc", "model.tfidf.word_ngrams=[1,1]",
            "model.tfidf.max_features=30000"]  # fmt: skip
    runs = (("unweighted", "none"), ("sqrt-inverse", "sqrt_inverse"))
    configs = [
        load_config(REPO / "configs/cfpb-tfidf.yaml", [*fast, f"objective.class_weights={scheme}"])
        for _, scheme in runs
    ]
    return train_side_by_side(configs, [name for name, _ in runs])


def test_noise_counts_few_example_classes_and_gives_an_interval(cfpb_runs):
    rep = noise_report(cfpb_runs[0], n_boot=1000)
    s = rep.support
    assert (s["n_examples"], s["n_classes"]) == (869, 59)
    gold = read_run(cfpb_runs[0]).split_predictions("val")["gold"].value_counts()
    assert s["n_few"] == int((gold <= 5).sum()) == 32
    assert s["n_one"] == int((gold == 1).sum()) == 14
    m = rep.ci["macro_f1"]
    assert m["low"] < m["value"] < m["high"] and 0.005 < m["half_width"] < 0.05


def test_errors_report_tail_destinations_and_five_hardest_mistakes(cfpb_runs):
    rep = error_report(cfpb_runs[0], n_hard=5)
    d = rep.destinations
    assert d["n_errors"] > 0 and sum(d["counts"].values()) == d["n_errors"]
    assert sum(d["shares"].values()) == pytest.approx(1.0)
    assert len(rep.hardest) == 5
    assert (rep.hardest["text"].str.len() > 20).all()
    assert (rep.hardest["gold"] != rep.hardest["pred"]).all()
    assert rep.hardest["prob"].is_monotonic_decreasing


def test_report_of_two_cfpb_runs(cfpb_runs, tmp_path):
    out = build_report(cfpb_runs, tmp_path / "cfpb_report.html", n_boot=500)
    html = out.read_text()
    assert "Comparison" in html and "Per tier" in html and "tail &lt; 20" in html
    assert "unweighted" in html and "sqrt-inverse" in html
    if not Path(CHROMIUM).is_file():
        return
    n, broken, errors = check_page(out, tmp_path)
    assert n == 10 and broken == 0 and errors == []  # tier bars + data + 2 runs x 4 (no curves)
    shot = screenshot(out, tmp_path / "cfpb_two_runs.png", tmp_path, height=6000)
    shutil.copy(out, Path("/tmp/report_screens") / "cfpb_two_runs.html")
    assert shot.stat().st_size > 100_000

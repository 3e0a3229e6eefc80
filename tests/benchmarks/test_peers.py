"""benchmarks/peers.py: the SetFit equal-time plan, fastText's CPU budget, the recipe's paired
lead over each row, and a peer's failure kept as a row."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCH))
    try:
        import peers

        yield peers
    finally:
        sys.path.remove(str(BENCH))


def test_plan_gives_steps_what_the_probes_and_head_embeddings_leave(peers):
    probe = {"embed_all": 30.0, "setup": 4.0, "per_step": 2.5}
    # 100 - 10 spent - 30 head embeddings - 4 set-up = 56 CPU s; 56 // 2.5 = 22 steps
    assert peers.setfit_plan(100.0, 10.0, probe, epoch=1000) == (22, 56.0)
    # never past one epoch of oversampled pairs
    assert peers.setfit_plan(100.0, 10.0, probe, epoch=8) == (8, 56.0)
    # a budget the loading and the head already spend leaves no step, and says so
    steps, left = peers.setfit_plan(40.0, 10.0, probe, epoch=1000)
    assert steps == 0 and left == pytest.approx(-4.0)


def test_one_oversampled_epoch_counts_the_larger_pair_side(peers):
    # two classes of 32: positives 2 * C(32, 2) = 992, negatives 32 * 32 = 1024;
    # oversampling draws 1024 of each, 2048 pairs, 16 a step
    labels = ["a"] * 32 + ["b"] * 32
    assert peers._oversampled_steps({"label": labels}) == 128
    # three and one: positives 3, negatives 3 -> 6 pairs, under one batch -> 1 step
    assert peers._oversampled_steps({"label": ["a", "a", "a", "b"]}) == 1


def test_autotune_equal_time_is_the_cpu_budget_over_the_threads(peers, monkeypatch):
    seen = {}

    def fake(d, args, seconds=None, label=""):
        seen["seconds"], seen["label"] = seconds, label
        return []

    monkeypatch.setattr(peers, "ft_autotune", fake)
    peers.ft_autotune_equal({}, SimpleNamespace(budget_cpu=162.0, threads=2))
    assert seen == {"seconds": 81.0, "label": "fastText autotune (val), equal time"}
    # the wall limit leaves room for the final training, and ends a search that hangs
    args = SimpleNamespace(row_timeout=3600, autotune_seconds=120, threads=2)
    assert peers.row_limit("fasttext-autotune", args, None) == 660
    assert peers.row_limit("fasttext-autotune-equal", args, {"cpu": 162.0}) == 543
    assert peers.row_limit("setfit", args, {"cpu": 162.0}) == 3600


def test_recipe_lead_is_a_paired_interval_that_excludes_zero_only_for_a_real_gap(peers):
    gold = np.repeat(["a", "b", "c", "d"], 50)
    recipe = gold.copy()
    worse = gold.copy()
    worse[::2] = "a"  # half of every class (and all of "a"'s precision) lost
    rows = [
        {"model": "peer worse", "pred": list(worse)},
        {"model": peers.RECIPE, "pred": list(recipe)},
        {"model": "peer same", "pred": list(recipe)},
        {"model": "failed peer", "pred": None},
    ]
    lead = peers.recipe_lead(gold, rows)
    assert set(lead) == {"peer worse", "peer same"}
    assert lead["peer worse"]["diff"] > 0.3 and lead["peer worse"]["low"] > 0
    assert lead["peer same"]["diff"] == 0 and lead["peer same"]["low"] == 0
    line = peers._lead_line(lead)
    assert "leads beyond the noise: peer worse." in line
    assert "Within the noise: peer same." in line
    assert peers.recipe_lead(gold, rows[:1]) == {}  # no recipe row, no lead


def test_the_reference_recipe_names_the_section_budgets_and_leads(peers, monkeypatch, tmp_path):
    """With --reference cpu-longtail-tuned the leads are against that row and the section and
    plot are its own, so the cpu-longtail section of the same data set is left as it was."""
    gold = np.repeat(["a", "b"], 20)
    worse = gold.copy()
    worse[::2] = "a"
    row = {"accuracy": 1.0, "macro_f1": 1.0, "zero_f1": 0, "head_f1": None, "mid_f1": None,
           "tail_f1": None, "fit_s": 10.0, "fit_cpu_s": 10.0, "predict_s": 1.0, "rss_mb": 1.0,
           "note": ""}  # fmt: skip
    rows = [
        {**row, "model": peers.recipe_row("cpu-longtail-tuned"), "pred": list(gold)},
        {**row, "model": peers.RECIPE, "pred": list(worse), "macro_f1": 0.7},
    ]
    results = tmp_path / "RESULTS.md"
    results.write_text("# Quality benchmark results\n\n## toy: peers\n\nkept\n")
    monkeypatch.setattr(peers, "_recipe_commit", lambda name="cpu-longtail": name)
    args = SimpleNamespace(reference="cpu-longtail-tuned", plots=str(tmp_path), threads=1)
    peers.write(results, "toy", rows, gold, [], "cmd", 1.0, None, args)
    text = results.read_text()
    assert "## toy: peers\n\nkept" in text  # the default reference's section untouched
    tuned = text.split("## toy: peers of cpu-longtail-tuned", 1)[1]
    assert "Recipe cpu-longtail-tuned as of commit cpu-longtail-tuned" in tuned
    lead = next(
        line for line in tuned.splitlines() if line.startswith("| tt: recipe cpu-longtail |")
    )
    # the tuned row leads the cpu-longtail row by 1 - 0.733 (F1 0.8 and 0.667), beyond the noise
    assert "| +0.267 [+0." in lead
    assert (tmp_path / "frontier_toy_cpu-longtail-tuned.png").is_file()


def test_a_peer_that_raises_becomes_an_error_result_not_a_crash(peers, monkeypatch, tmp_path):
    def nan(d, args):
        raise RuntimeError("Encountered NaN.")

    monkeypatch.setitem(peers.CHILDREN, "fasttext", nan)
    monkeypatch.setattr(
        peers.quality,
        "load_dataset",
        lambda name, root: (_frame(["a", "b"] * 10), _frame(["a", "b"])),
    )
    monkeypatch.setattr(peers.quality, "data_root", lambda: tmp_path)
    result = tmp_path / "result.json"
    peers.child(SimpleNamespace(child="fasttext", dataset="x", result=str(result)))
    err = json.loads(result.read_text())["error"]
    assert err.startswith("RuntimeError: Encountered NaN. (after ") and err.endswith(" CPU s)")


def _frame(labels):
    import pandas as pd

    return pd.DataFrame({"text": [f"text {i}" for i in range(len(labels))], "label": labels})

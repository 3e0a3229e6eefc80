"""Noise floor: support counts, bootstrap intervals against known answers, paired comparisons."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import f1_score

from tailtune.errors import DataError
from tailtune.evaluation._bootstrap import encode, resampled_scores, stratified_indices
from tailtune.evaluation.noise import (
    bootstrap_ci,
    min_detectable_difference,
    noise_report,
    paired_bootstrap,
    support_summary,
)

pytestmark = pytest.mark.unit


def test_support_summary_counts_few_and_single_classes():
    gold = ["a"] * 50 + ["b"] * 5 + ["c"] * 3 + ["d"] + ["e"]
    s = support_summary(gold, classes=["a", "b", "c", "d", "e", "f"])
    assert s["n_classes"] == 5
    assert s["n_few"] == 4  # b (5), c (3), d (1), e (1)
    assert s["n_one"] == 2
    assert s["share_few"] == pytest.approx(4 / 5)
    assert s["one_classes"] == ["d", "e"]
    assert s["absent"] == ["f"]
    hist = {h["bin"]: h["n_classes"] for h in s["histogram"]}
    assert hist["1"] == 2 and hist["3-5"] == 2 and hist["21-50"] == 1


def test_bernoulli_accuracy_interval_matches_normal_approximation():
    # One class, n examples, each right with probability p: accuracy CI = p ± 1.96 sqrt(p(1-p)/n).
    rng = np.random.default_rng(1)
    n, p = 4000, 0.7
    gold = np.array(["x"] * n)
    pred = np.where(rng.random(n) < p, "x", "y")
    ci = bootstrap_ci(gold, pred, n_boot=2000, seed=3)["accuracy"]
    phat = (pred == "x").mean()
    half = 1.96 * np.sqrt(phat * (1 - phat) / n)
    assert ci["value"] == pytest.approx(phat)
    assert ci["low"] == pytest.approx(phat - half, abs=0.003)
    assert ci["high"] == pytest.approx(phat + half, abs=0.003)
    assert ci["se"] == pytest.approx(np.sqrt(phat * (1 - phat) / n), rel=0.08)


def test_resampled_macro_f1_equals_sklearn_on_each_resample(long_tail):
    gold, pred, *_ = long_tail(seed=2)
    classes, g, (p,) = encode(gold, pred)
    idx = stratified_indices(g, 5, seed=0)
    acc, mf1 = resampled_scores(g, p, idx, len(classes))
    present = sorted(set(gold))
    for b in range(5):
        gb, pb = gold[idx[b]], pred[idx[b]]
        assert mf1[b] == pytest.approx(
            f1_score(gb, pb, labels=present, average="macro", zero_division=0)
        )
        assert acc[b] == pytest.approx((gb == pb).mean())
        # Stratified: every class keeps its support in every resample.
        assert sorted(gb) == sorted(gold)


def test_bootstrap_is_seeded_and_interval_contains_point(long_tail):
    gold, pred, *_ = long_tail(seed=0)
    a = bootstrap_ci(gold, pred, n_boot=300, seed=7)
    b = bootstrap_ci(gold, pred, n_boot=300, seed=7)
    assert a == b
    m = a["macro_f1"]
    assert m["low"] <= m["value"] <= m["high"]
    mdd = min_detectable_difference(a)
    assert mdd["macro_f1"] == pytest.approx(1.96 * np.sqrt(2) * m["se"])


def test_bootstrap_1000_resamples_on_6430_by_113_is_fast():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 113, 6430).astype(str)
    pred = np.where(rng.random(6430) < 0.55, gold, rng.integers(0, 113, 6430).astype(str))
    t = time.perf_counter()
    bootstrap_ci(gold, pred, n_boot=1000, seed=0)
    assert time.perf_counter() - t < 5.0


def test_paired_bootstrap_detects_real_gain_and_not_a_tie():
    rng = np.random.default_rng(5)
    n = 3000
    gold = rng.integers(0, 5, n).astype(str)
    right_a = rng.random(n) < 0.6
    # b fixes 10% of a's errors and breaks nothing: a real, paired gain of ~4 points.
    right_b = right_a | (rng.random(n) < 0.1)
    wrong = ((gold.astype(int) + 1) % 5).astype(str)
    a, b = np.where(right_a, gold, wrong), np.where(right_b, gold, wrong)
    res = paired_bootstrap(gold, a, b, n_boot=500, seed=0)
    assert res["accuracy"]["diff"] == pytest.approx((b == gold).mean() - (a == gold).mean())
    assert res["accuracy"]["meaningful"] and res["macro_f1"]["meaningful"]
    assert res["macro_f1"]["low"] > 0
    same = paired_bootstrap(gold, a, a, n_boot=200, seed=0)
    assert same["macro_f1"]["diff"] == 0 and not same["macro_f1"]["meaningful"]


def test_noise_report_on_run_dirs_and_id_mismatch(make_run, long_tail):
    gold, pred, probs, train, _ = long_tail(seed=0)
    ra = make_run("a", gold=gold, pred=pred, probs=probs, train_counts=train)
    g2, p2, pr2, *_ = long_tail(seed=0, weighted=True)
    rb = make_run("b", gold=g2, pred=p2, probs=pr2, train_counts=train)
    rep = noise_report(ra, against=rb, n_boot=200)
    assert rep.support["n_classes"] == 30
    assert rep.support["n_one"] == sum(1 for c in train if max(1, train[c] // 10) == 1)
    assert rep.paired["macro_f1"]["diff"] == pytest.approx(
        f1_score(g2, p2, average="macro") - f1_score(gold, pred, average="macro")
    )
    rc = make_run("c", gold=gold[:-1], pred=pred[:-1], train_counts=train)
    with pytest.raises(DataError, match="same examples"):
        noise_report(ra, against=rc, n_boot=50)


@pytest.mark.unit
def test_tier_intervals_center_on_the_tier_means_of_compute_metrics():
    from tailtune.evaluation import compute_metrics
    from tailtune.evaluation.noise import bootstrap_ci

    gold = ["a"] * 6 + ["b"] * 4 + ["c"] * 2
    pred = ["a"] * 5 + ["b"] + ["b"] * 3 + ["a"] + ["c", "c"]
    tiers = {"a": "head", "b": "mid", "c": "tail"}
    ci = bootstrap_ci(gold, pred, n_boot=500, seed=1, tiers=tiers)
    # by hand: F1(a) = 2*5 / (6 + 6) = 0.8333, F1(b) = 2*3 / (4 + 4) = 0.75, F1(c) = 1
    assert ci["tiers"]["head"]["value"] == pytest.approx(10 / 12)
    assert ci["tiers"]["mid"]["value"] == pytest.approx(0.75)
    # c is always right, and stratified resampling keeps its two examples: no spread at all
    assert (ci["tiers"]["tail"]["low"], ci["tiers"]["tail"]["high"]) == (1.0, 1.0)
    for t in ("head", "mid"):
        assert ci["tiers"][t]["low"] < ci["tiers"][t]["value"] < ci["tiers"][t]["high"]
    metrics = compute_metrics(gold, pred, tiers=tiers)
    for tier, interval in ci["tiers"].items():
        assert interval["value"] == pytest.approx(metrics["tiers"][tier]["mean_f1"])


def _set_run(name, ids, gold, pred):
    import types

    import pandas as pd

    frame = pd.DataFrame({"id": ids, "gold": gold, "pred": pred})
    return types.SimpleNamespace(
        name=name, path=f"/runs/{name}", labels={"classes": ["a", "b"]},
        config={"data": {"multi_label": "sets", "multi_label_separator": ","}},
        split_predictions=lambda split: frame,
    )  # fmt: skip


def test_paired_bootstrap_of_label_set_runs_scores_sets_on_the_same_texts():
    from tailtune.errors import DataError
    from tailtune.evaluation.noise import paired_bootstrap_runs

    gold = ["a", "b", "a,b", "b"]
    a = _set_run("a", ["1", "2", "3", "4"], gold, ["a", "a", "a", "b"])
    # b is exact, its rows in another order: they are matched by id
    b = _set_run("b", ["3", "1", "4", "2"], ["a,b", "a", "b", "b"], ["a,b", "a", "b", "b"])
    out = paired_bootstrap_runs(a, b, n_boot=200)
    # a: label a F1 2·2 / (3 + 2) = 0.8, label b 2·1 / (1 + 3) = 0.5 -> macro 0.65; b: 1
    assert out["macro_f1"]["a"] == pytest.approx(0.65) and out["macro_f1"]["b"] == 1.0
    assert out["macro_f1"]["diff"] == pytest.approx(0.35)
    assert out["accuracy"]["diff"] == pytest.approx(0.5)  # subset accuracy 0.5 -> 1
    assert out["n_examples"] == 4 and out["agreement"] == 0.5
    single = _set_run("c", ["1", "2", "3", "4"], gold, gold)
    single.config = {"data": {}}
    with pytest.raises(DataError, match="one run predicts label sets and the other single"):
        paired_bootstrap_runs(a, single)

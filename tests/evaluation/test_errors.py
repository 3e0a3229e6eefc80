"""Error analysis: confusion counts, tail-error destinations, hardest mistakes, tier tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tailtune.evaluation.errors import (
    confusion_frame,
    error_report,
    f1_vs_count,
    hardest_mistakes,
    label_family,
    label_issues,
    per_tier_f1,
    tail_error_destinations,
    top_confused_pairs,
    wilson_low,
)
from tailtune.runs import read_run

pytestmark = pytest.mark.unit

TIERS = {"H1": "head", "H2": "head", "M1": "mid", "M2": "mid", "T1": "tail", "T2": "tail"}


def test_confusion_and_top_pairs_hand_counted():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "a", "b", "a"]
    conf = confusion_frame(gold, pred, classes=["a", "b", "c", "d"])
    assert conf.shape == (4, 4)
    assert conf.loc["a", "b"] == 2 and conf.loc["c", "a"] == 1 and conf.loc["d"].sum() == 0
    pairs = top_confused_pairs(conf, n=2)
    assert pairs.iloc[0].to_dict() == {"gold": "a", "pred": "b", "count": 2, "share": 2 / 3}
    assert len(top_confused_pairs(conf, n=10)) == 3  # only non-zero off-diagonal cells


def test_tail_error_destinations_shares():
    # Tail errors: T1->H1, T1->H2, T2->M1, T2->T1; T1->T1 is right; M1->H1 is not a tail error.
    gold = ["T1", "T1", "T2", "T2", "T1", "M1"]
    pred = ["H1", "H2", "M1", "T1", "T1", "H1"]
    d = tail_error_destinations(gold, pred, TIERS)
    assert d["n_errors"] == 4
    assert d["shares"] == {"head": 0.5, "mid": 0.25, "tail": 0.25}
    # 2 of 4 is no clear majority (Wilson 95% interval of 50% of 4 reaches down to 15%)
    assert d["same_family"] is None and d["story"].startswith("spread") and d["dominant"] is None


def test_a_destination_is_named_only_when_it_clearly_dominates():
    # head 30%, mid 37%, tail 33% of 100 tail errors: a near-uniform spread names nothing
    gold = ["T1"] * 100
    pred = ["H1"] * 30 + ["M1"] * 37 + ["T2"] * 33
    d = tail_error_destinations(gold, pred, {**TIERS, "T2": "tail"})
    assert d["dominant"] is None and d["story"].startswith("spread")
    assert "the largest, mid, 37% of 100" in d["story"]
    # 36 of 40 to head: Wilson lower end 0.77 > 1/2
    clear = tail_error_destinations(["T1"] * 40, ["H1"] * 36 + ["M1"] * 4, TIERS)
    assert clear["dominant"] == "head" and clear["story"].startswith("(a) swamped")
    assert wilson_low(0.9, 40) == pytest.approx(0.7695, abs=1e-3)
    assert wilson_low(1.0, 1) == pytest.approx(0.2065, abs=1e-3)


def test_same_family_from_label_prefix():
    assert label_family("Mortgage | Trouble paying") == "Mortgage"
    assert label_family("billing:refund") == "billing"
    assert label_family("Incorrect information on your report") is None
    tiers = {"A | x": "head", "A | y": "tail", "B | z": "tail", "B | w": "mid"}
    d = tail_error_destinations(["A | y", "A | y", "B | z"], ["A | x", "B | w", "B | w"], tiers)
    assert d["same_family"] == pytest.approx(2 / 3)
    assert d["story"].startswith("spread")  # 2 of 3 errors: no clear majority
    many = tail_error_destinations(["A | y"] * 18 + ["B | z"] * 2, ["A | x"] * 18 + ["A | x"] * 2,
                                   tiers)  # fmt: skip
    assert many["same_family"] == pytest.approx(0.9)
    assert many["story"].startswith("(b) semantically")


def test_hardest_mistakes_sorted_by_confidence_with_gold_prob():
    frame = pd.DataFrame({
        "id": ["1", "2", "3", "4"], "text": ["t1", "t2", "t3", "t4"],
        "gold": ["a", "b", "a", "b"], "pred": ["b", "b", "b", "a"], "prob": [0.6, 0.9, 0.95, 0.7],
    })  # fmt: skip
    probs = np.array([[0.4, 0.6], [0.1, 0.9], [0.05, 0.95], [0.7, 0.3]])
    h = hardest_mistakes(frame, probs, ["a", "b"], n=2)
    assert h["id"].tolist() == ["3", "4"]
    assert h["gold_prob"].tolist() == pytest.approx([0.05, 0.3])


def test_per_tier_and_f1_vs_count():
    pc = pd.DataFrame({
        "label": list("abcde"), "tier": ["head", "mid", "mid", "tail", "tail"],
        "train_count": [3000, 500, 200, 50, 5], "support": [300, 50, 20, 5, 1],
        "f1": [0.7, 0.4, 0.3, 0.1, 0.0],
    })  # fmt: skip
    t = per_tier_f1(pc).set_index("tier")
    assert t.loc["mid", "mean_f1"] == pytest.approx(0.35)
    assert t.loc["tail", "zero_f1"] == 1 and t.loc["tail", "support"] == 6
    assert f1_vs_count(pc)["spearman"] == pytest.approx(1.0)


def test_error_report_on_run_dir(make_run, long_tail, tmp_path):
    gold, pred, probs, train, _ = long_tail(seed=0)
    path = make_run("r", gold=gold, pred=pred, probs=probs, train_counts=train)
    rep = error_report(path, n_hard=5, issues=True)
    assert len(rep.hardest) == 5
    assert (rep.hardest["gold"] != rep.hardest["pred"]).all()
    assert rep.hardest["prob"].is_monotonic_decreasing
    # The fixture's vanilla predictor sends every error to the 3 head-count classes c00-c02.
    tiers = read_run(path).labels["tiers"]
    head_like = {c for c in ("c00", "c01", "c02")}
    expected = {t: 0 for t in ("head", "mid", "tail")}
    for g, p in zip(gold, pred, strict=True):
        if g != p and tiers[g] == "tail":
            expected[tiers[p]] += 1
            assert p in head_like
    assert rep.destinations["counts"] == expected
    assert rep.f1_hist["n_classes"].sum() == 30
    csv = rep.write_confusion_csv(tmp_path / "confusion.csv")
    back = pd.read_csv(csv, index_col=0)
    assert back.shape == (30, 30) and back.to_numpy().sum() == len(gold)
    assert rep.issues is not None and len(rep.issues) > 0
    assert len(label_issues(read_run(path), n=3)) <= 3

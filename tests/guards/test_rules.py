"""The guards' rules on hand-built histories and label sets (figures computed by hand)."""

import math

import numpy as np
import pytest

from tailtune.guards import (
    Finding,
    chance_macro_f1,
    check_history,
    check_leakage,
    coverage,
    evaluation_figures,
    first_finding,
    normalise_text,
    prior_entropy,
)

pytestmark = pytest.mark.unit

LN4 = math.log(4)


def _row(step, epoch, train, **kw):
    return {"step": step, "epoch": epoch, "train_loss": train, **kw}


def test_prior_entropy_and_chance_by_hand():
    assert prior_entropy({"a": 3, "b": 1}) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    )
    # gold 3 x class 0, 1 x class 1; prior (0.75, 0.25)
    # majority: 2*3/(3+4) / 2 = 0.4286; drawn: class 0 2*3*.75/(3+3) = .75, class 1
    # 2*1*.25/(1+1) = .25 -> mean 0.5
    assert chance_macro_f1(np.array([0, 0, 0, 1]), np.array([0.75, 0.25])) == pytest.approx(0.5)
    assert coverage(np.array([0] * 9 + [1])) == 1
    assert coverage(np.array([0, 1, 2, 3] * 5)) == 4


def test_evaluation_figures_perfect_and_constant():
    gold = [0, 1, 2, 3] * 10
    perfect = evaluation_figures(gold, gold, [0.25] * 4)
    assert perfect == {
        "chance_macro_f1": 0.25,
        "macro_f1_low": 1.0,
        "pred_cover": 4,
        "gold_cover": 4,
        "pred_top_share": 0.25,
        "pred_top_prior": 0.25,
    }
    constant = evaluation_figures(gold, [0] * 40, [0.25] * 4)
    # always class 0: F1 of class 0 = 2*10/(10+40) = 0.4, macro 0.1, identical in every resample
    assert constant["macro_f1_low"] == pytest.approx(0.1)
    assert constant["pred_cover"] == 1
    assert (constant["pred_top_share"], constant["pred_top_prior"]) == (1.0, 0.25)


def test_nothing_on_the_first_evaluation():
    assert check_history([_row(10, 1, 60.0)], n_classes=4) == []


def test_divergence_far_above_ln_k_and_sharp_rise():
    far = check_history([_row(5, 0.5, 3.0), _row(10, 1, 55.3)], n_classes=4)
    assert [f.guard for f in far] == ["divergence"]
    assert far[0].evidence["limit"] == pytest.approx(2 * LN4, abs=1e-4)
    rise = check_history([_row(5, 0.5, 0.3), _row(10, 1, 0.3 + LN4 / 2 + 0.01)], n_classes=4)
    assert [f.guard for f in rise] == ["divergence"]
    assert "rose sharply" in rise[0].cause


def test_not_learning_when_train_loss_stays_at_the_prior():
    h = [_row(5, 0.5, 1.39), _row(10, 1.0, 1.37)]  # 1.4% lower: no longer falling
    found = check_history(h, n_classes=4, prior_entropy=LN4)
    assert [f.guard for f in found] == ["not-learning"]
    assert found[0].evidence["prior_loss"] == pytest.approx(LN4, abs=1e-4)
    # the same losses before a full epoch: no verdict yet
    assert check_history([_row(5, 0.4, 1.39), _row(10, 0.8, 1.37)], n_classes=4,
                         prior_entropy=LN4) == []  # fmt: skip
    # still falling by more than 2% an evaluation (1.55 -> 1.50): wait for the trend
    assert check_history([_row(5, 1, 1.55), _row(10, 2, 1.50)], n_classes=4,
                         prior_entropy=LN4) == []  # fmt: skip


CHANCE = {"macro_f1": 0.26, "macro_f1_low": 0.2, "chance_macro_f1": 0.25}


def test_labels_unrelated_versus_identifier_labels():
    h = [_row(5, 1, 0.9, **CHANCE), _row(10, 2, 0.2, **CHANCE)]
    found = check_history(h, n_classes=4, prior_entropy=LN4, train_counts={"a": 40, "b": 40})
    assert [f.guard for f in found] == ["labels-unrelated"]
    ids = check_history(h, n_classes=4, prior_entropy=LN4,
                        train_counts={str(i): 2 + i % 2 for i in range(30)})  # fmt: skip
    assert [f.guard for f in ids] == ["identifier-labels"]
    assert ids[0].evidence["median_rows_per_class"] == 2.5
    # one evaluation above chance among the last two: no finding
    ok = [_row(5, 1, 0.9, **CHANCE), _row(10, 2, 0.2, macro_f1=0.6, macro_f1_low=0.5,
                                            chance_macro_f1=0.25)]  # fmt: skip
    assert check_history(ok, n_classes=4, prior_entropy=LN4) == []


def test_collapsed_needs_two_evaluations_far_below_the_gold_spread():
    cov = {"pred_cover": 2, "gold_cover": 40, "pred_top_share": 0.6, "pred_top_prior": 0.05}
    h = [_row(5, 1, 0.5, **cov), _row(10, 2, 0.4, **cov)]
    assert [f.guard for f in check_history(h, n_classes=50, prior_entropy=3.5)] == ["collapsed"]
    spread = [_row(5, 1, 0.5, **cov), _row(10, 2, 0.4, pred_cover=30, gold_cover=40)]
    assert check_history(spread, n_classes=50, prior_entropy=3.5) == []
    # following the prior's majority class (74% of rows, predicted for all) is chance, not collapse
    prior_major = {"pred_cover": 1, "gold_cover": 6, "pred_top_share": 1.0, "pred_top_prior": 0.74}
    assert check_history([_row(5, 1, 0.5, **prior_major)] * 2, n_classes=21,
                         prior_entropy=1.1) == []  # fmt: skip
    # a label set that is itself one class for 90% of rows: predicting it is not a collapse
    assert check_history([_row(5, 1, 0.3, pred_cover=1, gold_cover=1)] * 2, n_classes=5,
                         prior_entropy=0.5) == []  # fmt: skip


def test_leakage_counts_exact_and_normalised_copies():
    found = check_leakage(["Hello  World", "x"], ["hello world", "x", "y"], ["y"])
    assert [(f.evidence["split"], f.evidence["in"]) for f in found] == [
        ("validation", "training"), ("test", "validation")]  # fmt: skip
    assert found[0].evidence["exact"] == 1 and found[0].evidence["after_normalising"] == 1
    assert found[0].evidence["share"] == pytest.approx(0.6667)
    assert normalise_text("  A\tB  c ") == "a b c"
    assert check_leakage(["a"], ["b"], ["c"]) == []


def test_finding_line_and_ranking():
    a = Finding("collapsed", "x", {"pred": 1}, "do y")
    b = Finding("divergence", "z", {"loss": 55.25}, "do w")
    assert first_finding([a, b]) is b
    assert b.line() == "guard divergence: z (loss 55.25). do w"
    assert Finding.from_dict(a.to_dict()) == a

"""The guards' rules on hand-built histories and label sets (figures computed by hand)."""

import math

import numpy as np
import pytest

from tailtune.guards import (
    Finding,
    bernoulli_entropy,
    chance_macro_f1,
    check_history,
    check_leakage,
    check_set_predictions,
    coverage,
    evaluation_figures,
    first_finding,
    normalise_text,
    prior_entropy,
    set_chance_macro_f1,
    set_evaluation_figures,
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
        "pred_top_is_majority": False,
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
    h = [_row(5, 1.0, 1.39), _row(10, 2.0, 1.37)]  # 1.4% lower in an epoch: no longer falling
    found = check_history(h, n_classes=4, prior_entropy=LN4)
    assert [f.guard for f in found] == ["not-learning"]
    assert found[0].evidence["prior_loss"] == pytest.approx(LN4, abs=1e-4)
    # the same losses before a full epoch: no verdict yet
    assert check_history([_row(5, 0.4, 1.39), _row(10, 0.8, 1.37)], n_classes=4,
                         prior_entropy=LN4) == []  # fmt: skip
    # nor half an epoch apart: the trend over an epoch is not known yet (evaluating every few
    # steps must not make a slowly falling loss look flat); once it is, the verdict comes
    assert check_history([_row(5, 0.5, 1.39), _row(10, 1.0, 1.37)], n_classes=4,
                         prior_entropy=LN4) == []  # fmt: skip
    halves = [_row(5, 0.5, 1.40), _row(10, 1.0, 1.39), _row(15, 1.5, 1.38)]
    assert [f.guard for f in check_history(halves, n_classes=4, prior_entropy=LN4)] == [
        "not-learning"
    ]
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
    # two evaluations within the first epoch (train.eval_every): too early, unless it ended
    early = [_row(5, 0.2, 0.5, **cov), _row(10, 0.4, 0.4, **cov)]
    assert check_history(early, n_classes=50, prior_entropy=3.5) == []
    assert [f.guard for f in check_history(early, n_classes=50, prior_entropy=3.5,
                                           final=True)] == ["collapsed"]  # fmt: skip
    spread = [_row(5, 1, 0.5, **cov), _row(10, 2, 0.4, pred_cover=30, gold_cover=40)]
    assert check_history(spread, n_classes=50, prior_entropy=3.5) == []
    # the prior's unique majority class (35% of rows) predicted for 95%: chance, not collapse
    major = {"pred_cover": 1, "gold_cover": 17, "pred_top_share": 0.95, "pred_top_prior": 0.35,
             "pred_top_is_majority": True}  # fmt: skip
    assert check_history([_row(5, 1, 2.0, **major)] * 2, n_classes=28, prior_entropy=2.4) == []
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


def _ref(val_loss, val_prior, se):
    return {"val_loss": val_loss, "val_prior_loss": val_prior, "val_gain_se": se}


def test_memorising_gap_fires_whatever_the_trend():
    # the shape of shuffled GoEmotions after two epochs: the training loss still above H(π)
    # and falling, validation at chance. Training gain 2.597 - 2.791 = -0.194, validation gain
    # 2.597 - 2.853 = -0.256: the model is 0.062 nats better on rows it saw than on rows it did
    # not, against a limit of 3 x 0.0118 = 0.0354
    h = [_row(511, 1, 2.945, prior_loss=2.597, **CHANCE, **_ref(2.961, 2.597, 0.0118)),
         _row(1022, 2, 2.791, prior_loss=2.597, **CHANCE, **_ref(2.853, 2.597, 0.0118))]  # fmt: skip
    (found,) = check_history(h, n_classes=28)
    assert found.guard == "labels-unrelated"
    assert found.evidence["gap"] == pytest.approx(0.062, abs=1e-4)
    assert found.evidence["gap_limit"] == pytest.approx(0.0354, abs=1e-4)
    # the same curve with validation as good as training, relative to the prior (a small
    # learning rate on real labels): no gap, still falling -> wait; training over -> not-learning
    slow = [dict(r, val_loss=r["train_loss"] - 0.01) for r in h]
    assert check_history(slow, n_classes=28) == []
    assert [f.guard for f in check_history(slow, n_classes=28, final=True)] == ["not-learning"]


def test_training_loss_below_the_prior_at_the_end_is_memorised():
    # 5% below H(π), validation at chance, the gap within its noise (a small validation set):
    # undecided while training, memorised labels once training has ended
    h = [_row(5, 1, 0.60, prior_loss=0.59, **CHANCE, **_ref(0.60, 0.59, 0.03)),
         _row(10, 2, 0.56, prior_loss=0.59, **CHANCE, **_ref(0.58, 0.59, 0.03))]  # fmt: skip
    assert check_history(h, n_classes=3) == []
    assert [f.guard for f in check_history(h, n_classes=3, final=True)] == ["labels-unrelated"]


def test_a_validation_loss_clearly_below_the_prior_is_not_chance():
    # macro F1's interval reaches chance, but the validation loss is 0.03 below the prior's
    # with a standard error of 0.01 (3 > 2 standard errors): the model learned something
    h = [_row(5, 1, 0.56, prior_loss=0.59, **CHANCE, **_ref(0.56, 0.59, 0.01))] * 2
    assert check_history(h, n_classes=3, final=True) == []
    weak = [_row(5, 1, 0.56, prior_loss=0.59, **CHANCE, **_ref(0.575, 0.59, 0.01))] * 2
    assert [f.guard for f in check_history(weak, n_classes=3, final=True)] == ["labels-unrelated"]


def test_divergence_ignores_a_first_epoch_overshoot_that_is_gone():
    assert check_history([_row(10, 1, 3.19), _row(20, 2, 0.55)], n_classes=4) == []
    kept = check_history([_row(10, 1, 56.4), _row(20, 2, 10.0)], n_classes=4)
    assert [f.guard for f in kept] == ["divergence"] and kept[0].evidence["train_loss"] == 10.0


def test_set_references_by_hand():
    # rates 0.5 and 0.25: H = ln 2 + (-(.25 ln .25 + .75 ln .75)) = 0.6931 + 0.5623
    assert bernoulli_entropy([0.5, 0.25]) == pytest.approx(1.2555, abs=1e-4)
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 0]])  # n = 4; label 0 on 2 texts, label 1 on 1
    # always "yes": 2*2/(2+4) = 0.6667 and 2*1/(1+4) = 0.4; drawn with the rates is lower
    assert set_chance_macro_f1(gold, [0.5, 0.25]) == pytest.approx((2 / 3 + 0.4) / 2)
    empty = set_evaluation_figures(np.tile(gold, (10, 1)), np.zeros((40, 2)), [0.5, 0.25],
                                   names=["a", "b"])  # fmt: skip
    assert (empty["pred_top_share"], empty["pred_top_set"], empty["macro_f1_low"]) == (
        1.0,
        "{}",
        0.0,
    )
    assert empty["pred_top_prior"] == 0.5  # the empty set is half the gold sets
    assert empty["pred_top_is_majority"] is False  # the prior's answer is {a} (rate 0.5)


def test_set_prediction_guards_collapse_and_memorised_sets():
    rng = np.random.default_rng(0)
    gold = (rng.random((200, 4)) < [0.4, 0.3, 0.2, 0.1]).astype(int)
    rates = gold.mean(axis=0)
    every = np.ones_like(gold)  # every label on every text: one set for all rows
    (found,) = check_set_predictions(gold, every, rates)
    assert found.guard == "collapsed" and found.evidence["top_class_predicted"] == 1.0
    noise = (rng.random((200, 4)) < rates).astype(int)  # sets unrelated to the texts
    fits = check_set_predictions(gold, noise, rates, train_fit=lambda: (gold, gold))
    assert [f.guard for f in fits] == ["labels-unrelated"]
    assert fits[0].evidence["train_macro_f1"] == 1.0
    nothing = check_set_predictions(gold, noise, rates, train_fit=lambda: (gold, noise))
    assert [f.guard for f in nothing] == ["not-learning"]

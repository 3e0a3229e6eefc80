"""Metrics: hand-computed cases, tiers, and every number cross-checked against scikit-learn."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

from tailtune.evaluation import (
    assign_tiers,
    compute_metrics,
    f1_histogram,
    per_class_table,
)

pytestmark = pytest.mark.unit

# a: support 3, predicted 2, tp 2 -> P 1,   R 2/3, F1 0.8
# b: support 2, predicted 2, tp 1 -> P 1/2, R 1/2, F1 0.5
# c: support 1, predicted 2, tp 1 -> P 1/2, R 1,   F1 2/3
# d: support 1, predicted 0, tp 0 -> P 0,   R 0,   F1 0
# z: never gold, predicted once    -> no F1 term; its prediction is d's false negative
GOLD = ["a", "a", "a", "b", "b", "c", "d"]
PRED = ["a", "a", "b", "b", "c", "c", "z"]
TRAIN = {"a": 3000, "b": 500, "c": 100, "d": 99, "z": 7}


def test_hand_computed_case():
    m = compute_metrics(GOLD, PRED)
    assert m["accuracy"] == pytest.approx(4 / 7)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3 + 0) / 4)
    assert m["weighted_f1"] == pytest.approx((0.8 * 3 + 0.5 * 2 + 2 / 3 + 0) / 7)
    assert m["macro_precision"] == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 0.5 + 1 + 0) / 4)
    assert m["balanced_accuracy"] == m["macro_recall"]
    assert m["zero_f1"] == 1
    assert m["n_examples"] == 7 and m["n_classes"] == 4 and m["n_predicted_absent"] == 1
    assert m["macro_over"] == "classes present in the evaluation gold labels (4)"
    assert "tiers" not in m
    json.dumps(m)  # plain Python numbers


def test_tiers_by_training_count():
    m = compute_metrics(GOLD, PRED, train_counts=TRAIN)
    # a head (3000 >= 2000); b, c mid (100 is not < 100); d tail (99); z not in gold
    assert m["tiers"]["head"] == {"n_classes": 1, "mean_f1": pytest.approx(0.8), "zero_f1": 0}
    assert m["tiers"]["mid"] == {
        "n_classes": 2,
        "mean_f1": pytest.approx((0.5 + 2 / 3) / 2),
        "zero_f1": 0,
    }
    assert m["tiers"]["tail"] == {"n_classes": 1, "mean_f1": 0.0, "zero_f1": 1}
    # a gold class unseen in training counts as 0 -> tail; an empty tier has mean None
    m = compute_metrics(["x", "x"], ["x", "y"], train_counts={})
    assert m["tiers"]["tail"]["n_classes"] == 1 and m["tiers"]["head"]["mean_f1"] is None


def test_assign_tiers_boundaries():
    t = assign_tiers({"h": 2000, "m1": 1999, "m2": 100, "t": 99, "t1": 1})
    assert t == {"h": "head", "m1": "mid", "m2": "mid", "t": "tail", "t1": "tail"}
    assert assign_tiers({"x": 50}, head_min=50, tail_max=10) == {"x": "head"}
    with pytest.raises(ValueError, match="tail_max"):
        assign_tiers({"x": 1}, head_min=10, tail_max=20)


def test_per_class_table():
    df = per_class_table(GOLD, PRED, train_counts=TRAIN)
    assert list(df.columns) == [
        "label",
        "tier",
        "train_count",
        "support",
        "precision",
        "recall",
        "f1",
    ]
    assert df["label"].tolist() == ["a", "b", "c", "d"]
    assert df["tier"].tolist() == ["head", "mid", "mid", "tail"]
    assert df["train_count"].tolist() == [3000, 500, 100, 99]
    assert df["support"].tolist() == [3, 2, 1, 1]
    np.testing.assert_allclose(df["precision"], [1, 0.5, 0.5, 0])
    np.testing.assert_allclose(df["recall"], [2 / 3, 0.5, 1, 0])
    np.testing.assert_allclose(df["f1"], [0.8, 0.5, 2 / 3, 0])
    assert df["f1"].mean() == pytest.approx(compute_metrics(GOLD, PRED)["macro_f1"])
    # without train counts: sorted by support, then label
    bare = per_class_table(GOLD, PRED)
    assert bare["label"].tolist() == ["a", "b", "c", "d"]
    assert bare["tier"].isna().all() and bare["train_count"].isna().all()


def test_f1_histogram_separates_exact_zeros():
    df = per_class_table(GOLD, PRED)
    h = f1_histogram(df, bins=4)
    assert h["bin"].tolist() == ["0", "(0, 0.25]", "(0.25, 0.5]", "(0.5, 0.75]", "(0.75, 1]"]
    assert h["n_classes"].tolist() == [1, 0, 1, 1, 1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="equal length"):
        compute_metrics(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="zero examples"):
        compute_metrics([], [])


def _long_tail_sample(seed: int, n: int = 4000, k: int = 60):
    """Zipf-like gold labels and noisy predictions that include never-gold classes."""
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, k + 1) ** 1.1
    gold = rng.choice(k, size=n, p=p / p.sum())
    pred = np.where(rng.random(n) < 0.55, gold, rng.choice(k + 5, size=n))  # k..k+4: pred-only
    return np.array([f"c{i:03d}" for i in gold]), np.array([f"c{i:03d}" for i in pred])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_matches_sklearn(seed):
    gold, pred = _long_tail_sample(seed)
    present = np.unique(gold)
    assert len(np.setdiff1d(np.unique(pred), present)) > 0  # the hard case is exercised
    m = compute_metrics(gold, pred)
    kw = {"labels": present, "zero_division": 0}
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, pred), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", **kw), abs=1e-12)
    assert m["weighted_f1"] == pytest.approx(
        f1_score(gold, pred, average="weighted", **kw), abs=1e-12
    )
    assert m["macro_precision"] == pytest.approx(
        precision_score(gold, pred, average="macro", **kw), abs=1e-12
    )
    assert m["macro_recall"] == pytest.approx(
        recall_score(gold, pred, average="macro", **kw), abs=1e-12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        ref_bal = balanced_accuracy_score(gold, pred)
    # sklearn drops the predicted-only classes (undefined recall), so it agrees exactly
    assert m["balanced_accuracy"] == pytest.approx(ref_bal, abs=1e-12)
    p, r, f, s = precision_recall_fscore_support(gold, pred, **kw)
    assert m["zero_f1"] == int(np.sum(f == 0)) and m["n_classes"] == len(present)
    df = per_class_table(gold, pred)
    ref = dict(zip(present, zip(p, r, f, s, strict=True), strict=True))
    for row in df.itertuples():
        np.testing.assert_allclose(
            [row.precision, row.recall, row.f1, row.support], ref[row.label], atol=1e-12
        )


def test_without_predicted_only_classes_balanced_accuracy_is_sklearns():
    gold, pred = _long_tail_sample(3)
    pred = np.where(np.isin(pred, gold), pred, gold)
    m = compute_metrics(gold, pred)
    assert m["n_predicted_absent"] == 0
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(gold, pred), abs=1e-12)


def test_integer_labels_work():
    m = compute_metrics(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]))
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)

"""Multi-label metrics and errors: hand-computed cases, cross-checked with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, hamming_loss

from tailtune.evaluation.set_errors import confused_pairs, set_error_summary
from tailtune.evaluation.set_metrics import (
    bootstrap_sets,
    paired_bootstrap_sets,
    per_label_table,
    set_metrics,
)

pytestmark = pytest.mark.unit

LABELS = ["a", "b", "c", "d"]
Y = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])
P = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])


def test_hand_computed():
    m = set_metrics(Y, P, LABELS, tiers={"a": "head", "b": "mid", "c": "tail", "d": "tail"})
    # a: tp 2, support 2, predicted 2 -> F1 1; b: 0 of 1 -> 0; c: support 1, predicted 1
    # (spurious in row 0), tp 0 -> 0; d absent from gold -> not averaged
    assert m["macro_f1"] == pytest.approx(1 / 3)
    assert m["zero_f1"] == 2 and m["zero_f1_labels"] == ["b", "c"]
    # micro: tp 2, support 4, predicted 3 -> 4/7
    assert m["micro_f1"] == pytest.approx(4 / 7)
    # samples: row0 2·1/(2+2) = .5, row1 1, row2 0 (nothing predicted), row3 both empty -> 1
    assert m["samples_f1"] == pytest.approx(2.5 / 4)
    assert m["subset_accuracy"] == pytest.approx(2 / 4)
    assert m["hamming_loss"] == pytest.approx(3 / 16)
    assert m["tiers"]["head"] == {"n_classes": 1, "mean_f1": 1.0, "zero_f1": 0}
    assert m["tiers"]["mid"] == {"n_classes": 1, "mean_f1": 0.0, "zero_f1": 1}
    assert m["tiers"]["tail"]["n_classes"] == 1  # d is absent from gold: in no tier's mean


def test_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 6)) < 0.2).astype(int)
    p = (rng.random((300, 6)) < 0.25).astype(int)
    m = set_metrics(y, p, list("abcdef"))
    assert m["micro_f1"] == pytest.approx(f1_score(y, p, average="micro"))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert m["samples_f1"] == pytest.approx(f1_score(y, p, average="samples", zero_division=1))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(y, p))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, p, average="weighted", zero_division=0))
    assert m["accuracy"] == m["subset_accuracy"] == pytest.approx(accuracy_score(y, p))


def test_per_label_table_and_errors():
    t = per_label_table(Y, P, LABELS, train_counts={"a": 9, "b": 5, "c": 1, "d": 1})
    assert t["label"].tolist() == ["a", "b", "c"]  # d is absent from gold
    assert t["f1"].mean() == pytest.approx(set_metrics(Y, P, LABELS)["macro_f1"])
    t = t.set_index("label")
    assert t.loc["b", "missed"] == 1 and t.loc["c", "spurious"] == 1 and t.loc["c", "missed"] == 1
    s = set_error_summary(Y, P)
    assert (s["exact"], s["missed_and_spurious"], s["nothing_predicted"]) == (2, 1, 1)
    assert (s["missed_labels"], s["spurious_labels"]) == (2, 1)
    pairs = confused_pairs(Y, P, LABELS)
    # only row 0 misses b and says c instead
    assert pairs.to_dict("records") == [
        {"missed": "b", "said_instead": "c", "weight": 1.0, "texts": 1}
    ]


def test_confusion_of_sets_counts_missed_against_said():
    from tailtune.evaluation.set_errors import confusion_sets, missed_said_pairs

    conf = confusion_sets(Y, P, LABELS)
    assert conf.loc["b", "c"] == 1 and conf.to_numpy().sum() == 1  # row 0: b missed, c said
    assert missed_said_pairs(Y, P, LABELS) == (["b"], ["c"])


def test_confused_pair_weights_split_a_text():
    y = np.array([[1, 1, 0, 0]])
    p = np.array([[0, 0, 1, 1]])
    pairs = confused_pairs(y, p, LABELS)
    assert len(pairs) == 4 and pairs["weight"].sum() == pytest.approx(1.0)


def test_bootstrap_intervals_cover_the_value_and_paired_sees_a_real_gain():
    rng = np.random.default_rng(1)
    y = (rng.random((400, 5)) < 0.3).astype(bool)
    noise = rng.random((400, 5))
    good = np.where(noise < 0.9, y, ~y)
    bad = np.where(noise < 0.7, y, ~y)
    ci = bootstrap_sets(good, good, n_boot=50)
    assert ci["macro_f1"] == {"value": 1.0, "low": 1.0, "high": 1.0}
    ci = bootstrap_sets(y, bad, n_boot=200)
    for k in ("micro_f1", "macro_f1", "samples_f1"):
        assert ci[k]["low"] < ci[k]["value"] < ci[k]["high"]
    cmp = paired_bootstrap_sets(y, bad, good, n_boot=200)
    assert cmp["macro_f1"]["diff"] > 0.1 and cmp["macro_f1"]["meaningful"]
    assert cmp["macro_f1"]["p_le_0"] == 0.0
    same = paired_bootstrap_sets(y, bad, bad, n_boot=50)
    assert same["micro_f1"]["diff"] == 0 and not same["micro_f1"]["meaningful"]

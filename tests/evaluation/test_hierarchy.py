"""Hierarchical metrics against cases computed by hand (numbers worked out in the comments)."""

from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score, f1_score

from tailtune.evaluation.hierarchy import (
    backoff_table,
    error_kind,
    hierarchical_prf,
    hierarchy_metrics,
    level_metrics,
    path_errors,
)

pytestmark = pytest.mark.unit

LEVELS = ["Product", "Issue"]
# "x" under A and "x" under B are different Issues.
GOLD = [("A", "x"), ("A", "y"), ("B", "x"), ("B", "x")]
PRED = [("A", "x"), ("B", "x"), ("B", "x"), ("A", "x")]


def test_level_metrics_by_hand():
    m = level_metrics(GOLD, PRED, LEVELS)
    # Product: gold A A B B, pred A B B A -> accuracy 1/2; F1(A) = F1(B) = 2*1/(2+2) = 1/2
    assert m["Product"]["accuracy"] == 0.5 and m["Product"]["macro_f1"] == 0.5
    # Issue: A|x tp 1, support 1, predicted 2 -> 2/3; A|y 0; B|x tp 1, support 2, predicted 2
    # -> 1/2; macro (2/3 + 0 + 1/2) / 3 = 7/18. By name alone x would be right 3 times in 4.
    assert m["Issue"]["accuracy"] == 0.5
    assert m["Issue"]["macro_f1"] == pytest.approx(7 / 18)
    assert m["Issue"]["n_classes"] == 3


def test_level_metrics_match_scikit_learn_on_joined_prefixes():
    gold2 = [" | ".join(g) for g in GOLD]
    pred2 = [" | ".join(p) for p in PRED]
    m = level_metrics(GOLD, PRED, LEVELS)["Issue"]
    assert m["accuracy"] == accuracy_score(gold2, pred2)
    assert m["macro_f1"] == pytest.approx(
        f1_score(gold2, pred2, labels=sorted(set(gold2)), average="macro")
    )


def test_level_metrics_short_paths_and_tiers_per_level():
    gold = [("A", "x"), ("A", "x"), ("C",)]
    pred = [("A",), ("A", "x"), ("A", "x")]
    train = [("A", "x"), ("A", "x"), ("A", "y"), ("C",)]
    m = level_metrics(gold, pred, LEVELS, train=train, head_min=3, tail_max=2)
    # Product: gold A A C, pred A A A -> 2/3; tiers from training counts A 3 (head), C 1 (tail)
    assert m["Product"]["accuracy"] == pytest.approx(2 / 3)
    assert m["Product"]["tiers"]["head"] == {"n_classes": 1, "mean_f1": 0.8, "zero_f1": 0}
    assert m["Product"]["tiers"]["tail"] == {"n_classes": 1, "mean_f1": 0.0, "zero_f1": 1}
    # Issue: only the two rows whose gold reaches level 2; the first stopped above -> wrong,
    # naming no class of its own (A|x: tp 1, support 2, predicted 1 -> F1 2/3)
    assert m["Issue"]["n_examples"] == 2 and m["Issue"]["accuracy"] == 0.5
    assert m["Issue"]["macro_f1"] == pytest.approx(2 / 3)
    assert m["Issue"]["n_predicted_absent"] == 1
    assert m["Issue"]["tiers"]["mid"]["n_classes"] == 1  # A|x has 2 training rows: mid
    assert m["Issue"]["tiers_rule"].startswith("fixed (head >= 3, tail < 2")


def test_hierarchical_prf_by_hand():
    gold = [("A", "x"), ("A", "y"), ("B", "z")]
    pred = [("A", "x"), ("A",), ("C", "w")]
    h = hierarchical_prf(gold, pred)
    # |C ∩ C'| = 2 + 1 + 0 = 3; Σ|C'| = 2 + 1 + 2 = 5; Σ|C| = 6
    assert (h["overlap"], h["predicted"], h["gold"]) == (3, 5, 6)
    assert h["h_precision"] == pytest.approx(0.6) and h["h_recall"] == pytest.approx(0.5)
    assert h["h_f1"] == pytest.approx(2 * 0.6 * 0.5 / 1.1)  # = 6/11
    # a wrong Issue under the right Product keeps half the credit; a wrong Product none
    assert hierarchical_prf([("A", "x")], [("A", "y")])["h_f1"] == 0.5
    assert hierarchical_prf([("A", "x")], [("B", "x")])["h_f1"] == 0.0
    assert hierarchical_prf([("A", "x")], [()])["h_precision"] == 0.0


def test_backoff_table_by_hand():
    gold = [("A", "x"), ("A", "y"), ("B", "z"), ("B", "z")]
    answered = [("A", "x"), ("A",), (), ("A", "w")]
    t = backoff_table(gold, answered, LEVELS)
    # Product: answered rows 0 1 3 (coverage 3/4), right 0 1 -> precision 2/3
    assert t["levels"]["Product"] == {
        "answered": 3,
        "coverage": 0.75,
        "correct": 2,
        "precision": pytest.approx(2 / 3),
    }
    # Issue: answered rows 0 3 (coverage 1/2), right 0 -> precision 1/2
    assert t["levels"]["Issue"] == {"answered": 2, "coverage": 0.5, "correct": 1, "precision": 0.5}
    assert (t["unknown"], t["exact"]) == (0.25, 0.25)
    # hierarchical: overlap 2 + 1 + 0 + 0 = 3, predicted 2 + 1 + 0 + 2 = 5, gold 8
    assert t["h_precision"] == pytest.approx(0.6) and t["h_recall"] == pytest.approx(3 / 8)
    none = backoff_table(gold, [()] * 4, LEVELS)
    assert none["levels"]["Issue"]["precision"] is None and none["unknown"] == 1.0


@pytest.mark.parametrize(
    ("gold", "pred", "kind"),
    [
        (("A", "x"), ("A", "x"), ("correct", None)),
        (("A", "x"), (), ("unknown", None)),
        (("A", "x"), ("A",), ("coarser", None)),
        (("C",), ("C", "q"), ("deeper", 2)),
        (("A", "x"), ("A", "y"), ("sibling", 2)),
        (("A", "x"), ("B", "x"), ("wrong_branch", 1)),
        (("A", "x", "1"), ("A", "y", "1"), ("wrong_branch", 2)),
        (("A", "x", "1"), ("A", "x", "2"), ("sibling", 3)),
        (("C",), ("A", "x"), ("wrong_branch", 1)),
    ],
)
def test_error_kind(gold, pred, kind):
    assert error_kind(gold, pred) == kind


def test_path_errors_counts():
    e = path_errors(GOLD, PRED, LEVELS)
    # row 0 correct; row 1 A|y -> B|x wrong Product; row 2 correct; row 3 B|x -> A|x wrong Product
    assert (e["correct"], e["sibling"], e["wrong_branch"]) == (2, 0, 2)
    assert e["first_wrong_level"] == {"Product": 2, "Issue": 0}
    assert e["sibling_share_of_wrong"] == 0.0
    e = path_errors([("A", "x"), ("A", "x")], [("A", "y"), ("A",)], LEVELS)
    assert (e["sibling"], e["coarser"], e["sibling_share_of_wrong"]) == (1, 1, 1.0)
    assert e["first_wrong_level"] == {"Product": 0, "Issue": 1}


def test_hierarchy_metrics_bundles_the_three():
    m = hierarchy_metrics(GOLD, PRED, LEVELS)
    assert set(m) == {"levels", "hierarchical", "errors"}
    assert m["hierarchical"]["h_f1"] == 0.5  # overlap 2 + 0 + 2 + 0 = 4 of 8 on both sides
    with pytest.raises(ValueError, match="differ in length"):
        hierarchical_prf(GOLD, PRED[:2])

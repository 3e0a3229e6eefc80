"""Cleaning reports, class statistics on a hand-computed case, and experiment subsets."""

from __future__ import annotations

import pandas as pd
import pytest

from tailtune.data import (
    class_stats,
    clean,
    split_stats,
    stratified_subsample,
    subset_labels,
)
from tailtune.errors import DataError
from tailtune.evaluation import assign_tiers, resolve_tiers

pytestmark = pytest.mark.unit


def frame(rows):
    return pd.DataFrame(
        [(f"f:{i + 2}", t, y, i + 2) for i, (t, y) in enumerate(rows)],
        columns=["id", "text", "label", "line"],
    )


def test_clean_counts_duplicates_conflicts_and_small_classes():
    f = frame([("a", "x"), ("a", "x"), ("a", "y"), ("b", "x"), ("c", "z"), ("d", "y"), ("e", "y")])
    out, rep = clean(f, drop_duplicates=True, min_class_size=2)
    assert rep.duplicates_found == 1 and rep.duplicates_removed == 1
    assert rep.duplicate_ids == ["f:3"]
    assert rep.conflicting_texts == 1 and rep.conflicting_rows == 2
    assert rep.conflict_examples[0]["labels"] == ["x", "y"]
    assert rep.dropped_classes == {"z": 1} and rep.rows_dropped_small_classes == 1
    assert (rep.rows_in, rep.rows_out, len(out)) == (7, 5, 5)
    assert any(
        "dropped 1 classes under 2 examples (1 rows): 'z' (1)" in line for line in rep.lines()
    )


def test_clean_keeps_duplicates_by_default_but_counts_them():
    out, rep = clean(frame([("a", "x"), ("a", "x"), ("b", "y")]))
    assert len(out) == 3 and rep.duplicates_found == 1 and rep.duplicates_removed == 0


def test_clean_refuses_to_leave_one_class():
    with pytest.raises(DataError, match="1 class left after dropping classes under 3"):
        clean(frame([("a", "x"), ("b", "x"), ("c", "x"), ("d", "y")]), min_class_size=3)


def test_class_stats_hand_computed():
    labels = ["a"] * 2500 + ["b"] * 150 + ["c"] * 99 + ["d"] * 19 + ["e"] * 5
    s = class_stats(labels)
    assert s["rows"] == 2773 and s["classes"] == 5
    assert s["largest"] == {"label": "a", "count": 2500}
    assert s["smallest"] == {"label": "e", "count": 5}
    assert s["imbalance_ratio"] == 500.0
    assert (s["classes_under_20"], s["classes_under_100"]) == (2, 3)
    assert s["tiers"] == {
        "head": {"classes": 1, "rows": 2500},
        "mid": {"classes": 1, "rows": 150},
        "tail": {"classes": 3, "rows": 123},
    }


def test_class_stats_tiers_follow_the_rule_a_run_records():
    """No class reaches 2,000: the fixed defaults leave the head empty, so the data-driven rule
    decides, as it does for a training run on the same data; explicit thresholds stay fixed."""
    labels = ["a"] * 500 + ["b"] * 300 + ["c"] * 120 + ["d"] * 50 + ["e"] * 20 + ["f"] * 10
    counts = {"a": 500, "b": 300, "c": 120, "d": 50, "e": 20, "f": 10}
    auto = class_stats(labels)
    run = resolve_tiers(counts)
    assert run.kind == "data-driven" and auto["tiers_rule"] == run.rule
    assert (auto["head_min"], auto["tail_max"]) == (None, None)
    assert {t: v["classes"] for t, v in auto["tiers"].items()} == run.n_classes()
    assert auto["tiers"]["head"] == {"classes": 1, "rows": 500}  # a holds 500 / 1000 rows
    fixed = class_stats(labels, head_min=300, tail_max=50)
    assert fixed["tiers_rule"] == "fixed (head >= 300, tail < 50; set in eval)"
    assert {t: v["classes"] for t, v in fixed["tiers"].items()} == {"head": 2, "mid": 2, "tail": 2}


def test_assign_tiers_boundaries():
    tiers = assign_tiers({"a": 2000, "b": 1999, "c": 100, "d": 99}, head_min=2000, tail_max=100)
    assert tiers == {"a": "head", "b": "mid", "c": "mid", "d": "tail"}


def test_split_stats_share_of_macro():
    train = ["a"] * 50 + ["b"] * 10 + ["c"] * 4 + ["d"] * 2
    val = ["a"] * 10 + ["b"] * 3 + ["c"] * 1 + ["z"] * 1
    s = split_stats(train, val)
    assert s["val_classes"] == 4
    assert (s["val_classes_le5"], s["val_classes_1"]) == (3, 2)
    assert s["share_of_macro_le5"] == 0.75 and s["share_of_macro_1"] == 0.5
    assert s["val_classes_missing_from_train"] == ["z"]
    assert s["train_classes_absent_from_val"] == 1


def test_subset_labels_top_k_balanced_and_named():
    f = frame([(f"t{i}", y) for i, y in enumerate(["a"] * 10 + ["b"] * 6 + ["c"] * 4 + ["d"] * 1)])
    s = subset_labels(f, 2, per_class=4, seed=0)
    assert s["label"].value_counts().to_dict() == {"a": 4, "b": 4}
    assert s["line"].is_monotonic_increasing
    assert subset_labels(f, 3, total=9, seed=0)["label"].value_counts().to_dict() == {
        "a": 3,
        "b": 3,
        "c": 3,
    }
    assert subset_labels(f, ["c", "d"], per_class=None)["label"].tolist() == ["c"] * 4 + ["d"]
    assert subset_labels(f, 2, per_class=4, seed=1)["id"].tolist() != s["id"].tolist()
    with pytest.raises(
        DataError, match="label 'c' has 4 examples, fewer than the 5 requested per class"
    ):
        subset_labels(f, 3, per_class=5)
    with pytest.raises(DataError, match="no label 'bb' in the data; did you mean 'b'"):
        subset_labels(f, ["bb"], per_class=1)


def test_stratified_subsample_keeps_every_class():
    f = frame([(f"t{i}", y) for i, y in enumerate(["a"] * 80 + ["b"] * 15 + ["c"] * 4 + ["d"] * 1)])
    s = stratified_subsample(f, 20, seed=0)
    counts = s["label"].value_counts().to_dict()
    assert len(s) == 20 and set(counts) == {"a", "b", "c", "d"}
    assert counts["a"] >= 14 and counts["d"] == 1
    assert stratified_subsample(f, 20, seed=0)["id"].tolist() == s["id"].tolist()
    assert len(stratified_subsample(f, 500, seed=0)) == 100

"""Decision rules for label sets: tuned thresholds with shrinkage, top-k, at-least-one."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.objectives.thresholds import SetRule, best_thresholds, tune_set_rule

pytestmark = pytest.mark.unit


def test_best_threshold_per_label_hand_computed():
    scores = np.array([[0.9, 0.2], [0.35, 0.1], [0.3, 0.6], [0.05, 0.15]])
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    t, f1 = best_thresholds(scores, y, grid=[0.1, 0.2, 0.32, 0.5])
    # label 0: t=0.32 keeps both positives and drops 0.3 -> F1 1; label 1: positives 0.6 and
    # 0.15, negatives 0.2 and 0.1: t=0.1 predicts all 4 -> 2·2/(4+2) = 2/3; t=0.2 -> {0.2, 0.6}
    # -> 2·1/(2+2) = 1/2; best 2/3 at 0.1
    assert t.tolist() == [0.32, 0.1]
    assert f1 == pytest.approx([1.0, 2 / 3])


def test_shrinkage_pulls_thin_labels_to_the_global_threshold():
    rng = np.random.default_rng(0)
    n = 400
    y = np.zeros((n, 3), dtype=int)
    y[:200, 0] = 1
    y[:3, 1] = 1  # three validation positives
    scores = rng.uniform(0, 0.4, size=(n, 3))
    scores[:200, 0] += 0.5
    scores[:3, 1] = [0.95, 0.96, 0.97]
    scores[3:10, 1] = 0.7  # negatives above 0.5: only 0.9 separates b's three positives
    rule = tune_set_rule(scores, y, ["a", "b", "c"], shrink=10, grid=[0.3, 0.5, 0.9])
    assert rule.tuned["val_positives"] == [200, 3, 0]
    t_g = rule.global_threshold
    own = rule.tuned["own_best"]
    # a: 200 / 210 of its own threshold; b: 3 / 13; c: no positive -> t_g
    assert rule.thresholds[0] == pytest.approx((200 * own[0] + 10 * t_g) / 210, abs=1e-4)
    assert rule.thresholds[1] == pytest.approx((3 * own[1] + 10 * t_g) / 13, abs=1e-4)
    assert rule.thresholds[2] == t_g
    unshrunk = tune_set_rule(scores, y, ["a", "b", "c"], shrink=0, grid=[0.3, 0.5, 0.9])
    assert unshrunk.thresholds[1] == own[1] == 0.9


def test_top_k_and_at_least_one():
    scores = np.array([[0.9, 0.8, 0.7], [0.1, 0.2, 0.3]])
    rule = SetRule(["a", "b", "c"], [0.5, 0.5, 0.25])
    assert rule.apply(scores).tolist() == [[1, 1, 1], [0, 0, 1]]
    rule.top_k = 2
    # margins row 0: .4, .3, .45 -> c and a
    assert rule.apply(scores).tolist() == [[1, 0, 1], [0, 0, 1]]
    none = SetRule(["a", "b", "c"], [0.95] * 3, at_least_one=True)
    assert none.apply(scores).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert SetRule.from_dict(rule.to_dict()) == rule
    with pytest.raises(ValueError, match="for 3 labels"):
        rule.apply(np.zeros((1, 2)))


def test_fixed_rule():
    r = SetRule.fixed(["a", "b"])
    assert r.thresholds == [0.5, 0.5] and r.apply(np.array([[0.5, 0.49]])).tolist() == [[1, 0]]

"""Back-off decision rule: depths, thresholds for a target precision, JSON; cases by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailtune.errors import DataError
from tailtune.objectives.backoff import BackoffRule, backoff_depths, choose_thresholds

pytestmark = pytest.mark.unit

# Five validation rows: gold path, predicted path, probability of the predicted node per level.
GOLD = [("A", "x"), ("A", "y"), ("B", "z"), ("B", "z"), ("A", "x")]
PRED = [("A", "x"), ("A", "x"), ("A", "x"), ("B", "z"), ("A", "x")]
P = np.array([[0.9, 0.8], [0.8, 0.5], [0.6, 0.4], [0.7, 0.7], [0.5, 0.3]])
# right at level 1: rows 0 1 3 4; right at level 2: rows 0 3 4


def test_depths_stop_at_the_first_level_that_fails():
    p = np.array([[0.9, 0.8], [0.9, 0.2], [0.1, 0.9], [0.9, np.nan], [0.5, 0.5]])
    assert backoff_depths(p, [0.5, 0.5]).tolist() == [2, 1, 0, 1, 2]
    assert backoff_depths(p, [0.5, None]).tolist() == [1, 1, 0, 1, 1]  # None: never
    rule = BackoffRule((0.5, 0.5))
    paths = [("A", "x")] * 5
    assert rule.apply(paths, p) == [("A", "x"), ("A",), (), ("A",), ("A", "x")]


def test_thresholds_for_one_target():
    rule = choose_thresholds(GOLD, PRED, P, 0.8, levels=["P", "I"])
    # level 1, by p desc: .9 ok, .8 ok, .7 ok, .6 wrong, .5 ok -> precision 1, 1, 1, .75, .8;
    # all five rows reach 0.8, so the threshold is the lowest probability, 0.5.
    # level 2 (all five still answered), by p desc: .8 ok, .7 ok, .5 no, .4 no, .3 ok ->
    # precision 1, 1, .67, .5, .6: the top two rows, threshold 0.7.
    assert rule == BackoffRule((0.5, 0.7), (0.8, 0.8), ("P", "I"))
    assert rule.depths(P).tolist() == [2, 1, 1, 2, 1]


def test_thresholds_are_chosen_top_down_per_level():
    rule = choose_thresholds(GOLD, PRED, P, [0.9, 1.0])
    # level 1 at 0.9: only the top three (1, 1, 1) qualify -> 0.7;
    # level 2 among rows 0, 1, 3 (p1 >= 0.7): .8 ok, .7 ok, .5 no -> 0.7 for precision 1.
    assert rule.thresholds == (0.7, 0.7)
    assert rule.depths(P).tolist() == [2, 1, 0, 2, 0]


def test_no_threshold_meets_the_target():
    gold = [("A", "x"), ("A", "x")]
    pred = [("A", "y"), ("A", "x")]
    rule = choose_thresholds(gold, pred, np.array([[0.9, 0.9], [0.9, 0.6]]), 1.0)
    assert rule.thresholds == (0.9, None)  # the most probable level-2 answer is wrong
    assert rule.depths(np.array([[0.95, 0.99]])).tolist() == [1]


def test_tied_probabilities_are_taken_together():
    gold = [("A",), ("A",), ("A",)]
    pred = [("A",), ("B",), ("A",)]
    p = np.array([[0.8], [0.8], [0.3]])
    # {0.8, 0.8} has precision 1/2; the rows cannot be split, so target 0.9 is never met
    assert choose_thresholds(gold, pred, p, 0.9).thresholds == (None,)
    # precision at >= 0.3 is 2/3: target 0.6 takes every row
    assert choose_thresholds(gold, pred, p, 0.6).thresholds == (0.3,)


def test_rule_json_round_trip():
    rule = choose_thresholds(GOLD, PRED, P, 0.8, levels=["P", "I"])
    record = json.loads(json.dumps(rule.to_dict()))
    assert record == {
        "rule": "backoff",
        "thresholds": [0.5, 0.7],
        "target_precision": [0.8, 0.8],
        "levels": ["P", "I"],
    }
    assert BackoffRule.from_dict(record) == rule
    assert BackoffRule.from_dict({"rule": "backoff", "thresholds": [None, 0.2]}).thresholds == (
        None,
        0.2,
    )


def test_bad_records_and_arguments():
    with pytest.raises(DataError, match="model/decision.json: expected an object with rule"):
        BackoffRule.from_dict({"rule": "argmax"}, where="model/decision.json")
    with pytest.raises(DataError, match="model/decision.json: bad back-off thresholds"):
        BackoffRule.from_dict({"rule": "backoff", "thresholds": [2.0]}, "model/decision.json")
    with pytest.raises(ValueError, match="target precision must be in"):
        choose_thresholds(GOLD, PRED, P, 0.0)
    with pytest.raises(ValueError, match="3 target precisions for 2 levels"):
        choose_thresholds(GOLD, PRED, P, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"path_proba must be \(n, 2\)"):
        backoff_depths(np.zeros((2, 3)), [0.5, 0.5])

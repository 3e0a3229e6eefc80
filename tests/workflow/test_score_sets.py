"""Scoring a split of label sets: the saved rule decides, metrics and rows follow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tailtune.config import Config
from tailtune.objectives.thresholds import SetRule
from tailtune.workflow.score_sets import score_set_split, set_train_counts

pytestmark = pytest.mark.unit


class Scores:
    """A fitted multi-label model stand-in: fixed scores per text."""

    classes_ = np.array(["a", "b", "c"], dtype=object)
    rule_ = SetRule(["a", "b", "c"], [0.5, 0.3, 0.9])

    def predict_proba(self, texts):
        table = {"x": [0.9, 0.4, 0.1], "y": [0.2, 0.1, 0.95], "z": [0.6, 0.2, 0.5]}
        return np.array([table[t] for t in texts])


def test_rule_metrics_and_rows():
    cfg = Config()
    cfg.data.multi_label, cfg.data.multi_label_separator = "sets", "|"
    frame = pd.DataFrame({"id": ["1", "2", "3"], "text": ["x", "y", "z"],
                          "label": ["a|b", "c", "b"], "line": [1, 2, 3]})  # fmt: skip
    counts = set_train_counts(["a|b", "a", "c"], "|")
    assert counts == {"a": 2, "b": 1, "c": 1}
    out = score_set_split(Scores(), frame, counts, cfg, "val")
    rows = out["predictions"]
    # x: a .9 ≥ .5, b .4 ≥ .3 -> a|b; y: c .95 ≥ .9 -> c; z: a .6 -> a (gold b)
    assert rows["pred"].tolist() == ["a|b", "c", "a"]
    m = out["metrics"]
    assert m["subset_accuracy"] == pytest.approx(2 / 3)
    # a: tp 1, support 1, predicted 2 -> 2/3; b: tp 1 of 2, predicted 1 -> 2/3; c: 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["confused"] == [{"missed": "b", "said_instead": "a", "weight": 1.0, "texts": 1}]
    assert json.loads(rows["top_k"][0])[0] == ["a", 0.9]
    assert out["per_class"]["label"].tolist() == ["a", "b", "c"]

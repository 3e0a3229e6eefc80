"""PathDecision: one rule from leaf probabilities to a path, its levels and the back-off answer,
the same after a JSON round trip (what an export's export.json carries)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailtune.data.hierarchy import Hierarchy
from tailtune.errors import DataError
from tailtune.objectives.backoff import BackoffRule
from tailtune.objectives.path_decision import PathDecision

pytestmark = pytest.mark.unit

TREE = Hierarchy.from_labels(["P | a", "P | b", "Q | c"], ["top", "sub"])
# leaf argmax is Q | c (0.4), but P's leaves sum to 0.6
PROBA = np.array([[0.35, 0.25, 0.4], [0.9, 0.05, 0.05]])


def test_decode_answer_and_levels_by_hand():
    rule = BackoffRule((0.5, 0.5), None, ("top", "sub"))
    d = PathDecision(TREE, "top_down", rule)
    out = d.describe(PROBA, TREE.classes)
    assert out["path"] == ["P | a", "P | a"]
    assert out["answer"] == ["P", "P | a"]  # row 0: P 0.6 clears, P | a 0.35 does not
    assert out["depth"].tolist() == [1, 2]
    assert out["level_proba"][0] == pytest.approx({"top": 0.6, "sub": 0.35})
    assert PathDecision(TREE, "leaf").labels(PROBA, TREE.classes).tolist() == ["Q | c", "P | a"]
    assert PathDecision(TREE, "top_down", BackoffRule((0.95, None))).describe(PROBA, TREE.classes)[
        "answer"
    ] == ["unknown", "P"]


def test_json_round_trip_and_bad_records():
    d = PathDecision(TREE, "leaf", BackoffRule((0.3, None), (0.9, 0.9), ("top", "sub")))
    again = PathDecision.from_dict(json.loads(json.dumps(d.to_dict())))
    assert again == d
    with pytest.raises(DataError, match="export.json: expected an object with a hierarchy"):
        PathDecision.from_dict({"decode": "leaf"}, "export.json")
    with pytest.raises(DataError, match="decode 'best'"):
        PathDecision.from_dict({**d.to_dict(), "decode": "best"})

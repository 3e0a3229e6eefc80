"""From an ObjectiveSettings to the multi-label loss and decision rule."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.errors import ConfigError
from tailtune.objectives import ObjectiveSettings
from tailtune.training.objective import make_set_loss, set_rule

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.unit


def test_class_weights_become_positive_weights():
    y = np.array([[1, 1], [0, 1], [0, 1], [0, 1]])
    z = torch.tensor([[0.0, 0.0]])
    t = torch.tensor([[1.0, 1.0]])
    loss = make_set_loss(y, ObjectiveSettings(class_weights="sqrt_inverse"))
    # weights [4/3, 2/3] on two positive terms of log 2 each, mean over 2 terms
    assert loss(z, t).item() == pytest.approx((4 / 3 + 2 / 3) * np.log(2) / 2, rel=1e-6)
    assert make_set_loss(y, ObjectiveSettings(set_loss="db")).__name__ == "db_loss"


def test_rule_from_objective():
    fixed = set_rule(None, None, ["a", "b"], ObjectiveSettings(max_labels=1))
    assert fixed.thresholds == [0.5, 0.5] and fixed.top_k == 1
    scores = np.array([[0.3, 0.9], [0.2, 0.1], [0.35, 0.2]])
    y = np.array([[1, 1], [0, 0], [1, 0]])
    tuned = set_rule(scores, y, ["a", "b"], ObjectiveSettings(threshold_shrink=0))
    assert tuned.apply(scores).tolist() == y.tolist()
    off = set_rule(scores, y, ["a", "b"], ObjectiveSettings(tune_thresholds=False))
    assert off.thresholds == [0.5, 0.5]


def test_objective_validates_set_fields():
    with pytest.raises(ConfigError, match="objective.threshold_shrink: got -1"):
        ObjectiveSettings(threshold_shrink=-1).validate()
    with pytest.raises(ConfigError, match="objective.set_loss"):
        ObjectiveSettings(set_loss="x").validate()

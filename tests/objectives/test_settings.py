"""``ObjectiveSettings``: documented, self-validating, and the one edit that adds a lever."""

import numpy as np
import pytest

from tailtune.config import config_from_dict
from tailtune.errors import ConfigError
from tailtune.objectives import ObjectiveSettings

pytestmark = pytest.mark.unit


def test_bad_values_name_the_field_and_what_is_allowed():
    cases = [
        ({"beta": 1.0}, r"objective.beta: got 1.0, expected a value in \(0, 1\)"),
        ({"loss": "hinge"}, r"objective.loss: got 'hinge', expected one of: ce, focal"),
        ({"focal_gamma": -1.0}, r"objective.focal_gamma: got -1.0, expected 0 or more"),
        ({"sampler": "sqrtt"}, r"did you mean 'sqrt'"),
        ({"posthoc_tau_max": -0.5}, r"objective.posthoc_tau_max: got -0.5"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            ObjectiveSettings(**kwargs).validate()


def test_the_tau_grid_runs_in_tenths_up_to_the_max():
    assert ObjectiveSettings().tau_grid() == [round(i / 10, 10) for i in range(21)]  # 0 .. 2
    assert ObjectiveSettings(posthoc_tau_max=0.5).tau_grid() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert ObjectiveSettings(posthoc_tau_max=0.0).tau_grid() == [0.0]


def test_posthoc_tau_max_comes_from_the_config_and_bounds_the_tuned_tau():
    # the new lever was one edit in objectives/settings.py (the field and its tau_grid());
    # YAML, --set, validation, backend.json and the neural backends' τ search follow
    from tailtune.backends import build_backend

    cfg = config_from_dict(
        {
            "model": {"backend": "encoder", "name": "m"},
            "objective": {"tune_posthoc_tau": True, "posthoc_tau_max": 0.3},
        }
    )
    assert cfg.objective.posthoc_tau_max == 0.3
    backend = build_backend(cfg)
    assert backend.objective.posthoc_tau_max == 0.3
    # two classes, priors 0.9 / 0.1: only τ > log(7/3) / log(9) ≈ 0.39 rescues the rare class,
    # and τ < log(19) / log(9) ≈ 1.34 keeps the frequent one, so the best grid τ is 0.4
    probs = np.array([[0.7, 0.3]] * 5 + [[0.95, 0.05]] * 5)
    gold = np.array([1] * 5 + [0] * 5)
    backend.prior_, backend.info_ = np.array([0.9, 0.1]), {}
    # capped at 0.3: no τ below the cap changes anything
    assert backend._choose_tau(probs, gold) == 0.0
    backend.set_params(objective__posthoc_tau_max=2.0)
    assert backend._choose_tau(probs, gold) == pytest.approx(0.4)
    with pytest.raises(ConfigError, match="objective.posthoc_tau_max"):
        config_from_dict({"objective": {"posthoc_tau_max": 11}})

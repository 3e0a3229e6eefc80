"""``BackendBase._store``: what every ``__init__`` does, and nothing more."""

import pytest

from tailtune.backends.encoder import EncoderBackend
from tailtune.backends.ensemble import EnsembleBackend
from tailtune.backends.tfidf import TfidfBackend, TfidfSettings
from tailtune.objectives.settings import ObjectiveSettings
from tailtune.training.settings import TrainSettings

pytestmark = pytest.mark.unit


def test_each_argument_is_stored_as_given_and_missing_settings_get_their_defaults():
    mine = ObjectiveSettings(class_weights="inverse")
    b = EncoderBackend(model_name="m", max_length=7, objective=mine, seed=3)
    assert b.objective is mine  # stored, not copied or checked
    assert b.train == TrainSettings() and (b.model_name, b.max_length, b.seed) == ("m", 7, 3)
    t = TfidfBackend()
    assert t.tfidf == TfidfSettings() and t.objective == ObjectiveSettings()


def test_a_bad_value_is_stored_for_fit_to_refuse():
    # scikit-learn's contract: __init__ never checks, so set_params and clone round-trip
    e = EnsembleBackend(members=["not a backend"], weights=[-1.0])
    assert e.members == ["not a backend"] and e.weights == [-1.0]
    assert e.get_params(deep=False)["weights"] == [-1.0]

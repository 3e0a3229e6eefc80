"""The majority baseline: the training prior for every text, its argmax, a JSON-only save."""

import json

import numpy as np
import pytest

from tailtune.backends import load_backend
from tailtune.backends.majority import MajorityBackend

pytestmark = pytest.mark.unit


def test_predicts_the_training_prior_and_its_most_frequent_class(tmp_path):
    labels = ["b"] * 5 + ["a"] * 3 + ["c"] * 2
    m = MajorityBackend().fit(["t"] * 10, labels, eval_set=(["v"], ["never-seen"]))
    assert list(m.classes_) == ["a", "b", "c"]
    np.testing.assert_allclose(m.predict_proba(["x", "y"]), [[0.3, 0.5, 0.2]] * 2)
    assert list(m.predict(["x", "y", "z"])) == ["b", "b", "b"]
    assert m.info_ == {"trainable_params": 0}
    m.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "backend.json").read_text()) == {
        "backend": "majority",
        "params": {"seed": 0},
    }
    np.testing.assert_array_equal(
        load_backend(tmp_path / "m").predict_proba(["q"]), [[0.3, 0.5, 0.2]]
    )


def test_ties_go_to_the_first_class_in_sorted_order():
    m = MajorityBackend().fit(["t"] * 4, ["z", "z", "a", "a"])
    assert list(m.predict(["x"])) == ["a"]

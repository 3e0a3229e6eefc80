"""The TF-IDF backend: weights as sample weights, temperature, post-hoc τ, exact plain-data saves."""

import json

import numpy as np
import pytest

from tailtune.backends import clone, freeze, load_backend
from tailtune.backends.tfidf import TfidfBackend, TfidfSettings
from tailtune.errors import ConfigError
from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.unit

SKEW = {"billing": 40, "delivery": 20, "login": 8, "refund": 4}


@pytest.fixture(scope="module")
def data():
    return toy_task(counts=SKEW, seed=0), toy_task(counts={c: 10 for c in SKEW}, seed=1)


def test_learns_the_toy_task_and_reports_its_size(data):
    (tx, ty), (vx, vy) = data
    b = TfidfBackend.from_flat(word_ngrams=(1, 1), C=10.0).fit(tx, ty, eval_set=(vx, vy))
    accuracy = np.mean(b.predict(vx) == np.asarray(vy))
    assert accuracy > 0.9  # keywords decide the class; measured 1.0
    n = b.info_["n_features"]
    assert b.info_["trainable_params"] == n * 4 + 4
    assert 0.01 <= b.info_["temperature"] <= 1.0  # LinearSVC margins are temperature-scaled


def test_class_weights_shift_predictions_toward_the_tail(data):
    (tx, ty), (vx, _) = data
    plain = TfidfBackend.from_flat(C=0.05).fit(tx, ty)
    weighted = TfidfBackend.from_flat(C=0.05, class_weights="inverse").fit(tx, ty)
    rare = list(plain.classes_).index("refund")
    # inverse weights (Cui et al. 2019's family) raise the rare class's share of probability
    assert weighted.predict_proba(vx)[:, rare].mean() > plain.predict_proba(vx)[:, rare].mean()
    assert weighted.info_["class_weight_max"] > weighted.info_["class_weight_min"]


def test_posthoc_tau_is_chosen_on_validation_and_kept_by_freeze(data):
    (tx, ty), (vx, vy) = data
    b = TfidfBackend.from_flat(C=0.05, tune_posthoc_tau=True).fit(tx, ty, eval_set=(vx, vy))
    assert 0.0 <= b.tau_ <= 2.0 and b.info_["posthoc_tau"] == b.tau_
    # refit on all data without a validation set: the chosen τ is kept, not re-tuned
    again = freeze(b).fit(tx + vx, ty + vy)
    assert again.tau_ == b.tau_


@pytest.mark.parametrize("classifier", ["linear_svc", "logreg"])
@pytest.mark.parametrize("char_ngrams", [None, (2, 4)])
def test_save_load_is_exact_and_plain_data(classifier, char_ngrams, data, tmp_path):
    (tx, ty), (vx, vy) = data
    b = TfidfBackend.from_flat(classifier=classifier, char_ngrams=char_ngrams, posthoc_tau=0.5)
    b.fit(tx, ty, eval_set=(vx, vy))
    b.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "arrays.npz",
        "backend.json",
        "state.json",
    ]
    params = json.loads((tmp_path / "m" / "backend.json").read_text())["params"]
    assert params["tfidf"]["classifier"] == classifier and params["objective"]["posthoc_tau"] == 0.5
    loaded = load_backend(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(vx), b.predict_proba(vx))
    assert loaded.info_ == json.loads(json.dumps(b.info_))


def test_binary_task_round_trips(tmp_path):
    texts, labels = toy_task(counts={"billing": 12, "login": 12}, seed=3)
    for classifier in ("linear_svc", "logreg"):
        b = TfidfBackend.from_flat(classifier=classifier).fit(texts, labels)
        b.save(tmp_path / classifier)
        proba = load_backend(tmp_path / classifier).predict_proba(texts)
        assert proba.shape == (24, 2)
        np.testing.assert_array_equal(proba, b.predict_proba(texts))


def test_settings_validate_with_the_field_name():
    with pytest.raises(ConfigError, match=r"model.tfidf.word_ngrams: got \[2, 1\]"):
        TfidfSettings(word_ngrams=[2, 1]).validate()
    with pytest.raises(ConfigError, match="model.tfidf.C: got 0"):
        TfidfSettings(C=0).validate()
    with pytest.raises(ConfigError, match="tfidf.classifier: got 'svm'"):
        TfidfBackend.from_flat(classifier="svm").fit(["a b", "c d"], ["x", "y"])


def test_a_frozen_clone_refit_without_validation_is_the_same_model(data):
    from tailtune.backends import freeze

    (tx, ty), (vx, vy) = data
    b = TfidfBackend.from_flat(C=0.5, tune_posthoc_tau=True).fit(tx, ty, eval_set=(vx, vy))
    assert b.info_["temperature"] != 1.0 and b.tau_ > 0  # both chosen on validation
    again = freeze(b).fit(tx, ty)  # no eval_set: τ and the temperature stay as chosen
    np.testing.assert_array_equal(again.predict_proba(vx), b.predict_proba(vx))
    # a plain clone refit without validation loses the temperature (and so the probabilities)
    assert not np.allclose(clone(b).fit(tx, ty).predict_proba(vx), b.predict_proba(vx))

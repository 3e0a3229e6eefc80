"""Every entry of BACKENDS keeps the contract of tailtune.backends.base, on tiny data and models.

One factory per backend (tiny random BERT / GPT-2 built from configs with a tokenizer trained
on the fly, so nothing downloads); each is fitted once with a validation set that holds a label
the training data never had, then checked for: probability rows over ``classes_`` summing to 1,
predict = argmax of predict_proba, save -> load giving identical probabilities with
``backend.json`` holding the backend's own params, clone -> fit giving the same model, and bad
input rejected with one clear error before any work is done.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailtune.backends import BACKENDS, clone, load_backend
from tailtune.errors import ConfigError, DataError
from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.integration

COUNTS = {"billing": 20, "delivery": 14, "login": 8, "refund": 6}  # a small long tail


def _neural_kwargs():
    from tailtune.objectives import Objective
    from tailtune.training import TrainSettings

    train = TrainSettings(
        epochs=2, batch_size=16, lr=0.01, patience=None, num_threads=1, progress=False
    )
    return {"max_length": 16, "train": train, "objective": Objective(tune_posthoc_tau=True)}


def _majority(dirs):
    from tailtune.backends.majority import MajorityBackend

    return MajorityBackend(seed=1)


def _tfidf(dirs):
    from tailtune.backends.tfidf import TfidfBackend

    return TfidfBackend(class_weights="sqrt_inverse", tune_posthoc_tau=True, seed=1)


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
    from tailtune.backends.tfidf import TfidfBackend

    return CascadeBackend(
        router=TfidfBackend(C=2.0), specialist=TfidfBackend(C=10.0), head_top_k=2, seed=1
    )


def _ensemble(dirs):
    from tailtune.backends.ensemble import EnsembleBackend
    from tailtune.backends.majority import MajorityBackend
    from tailtune.backends.tfidf import TfidfBackend

    members = [TfidfBackend(tune_posthoc_tau=True), MajorityBackend()]
    return EnsembleBackend(members=members, carve=0.25, seed=1)


def _hierarchical(dirs):
    from tailtune.backends.hierarchical import HierarchicalBackend
    from tailtune.backends.tfidf import TfidfBackend

    # one level (the toy labels are not paths): per parent = one stage under the root
    return HierarchicalBackend(
        model=TfidfBackend(tune_posthoc_tau=True), strategy="top_down", per="parent", seed=1
    )


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
NEURAL = {"embedding_head", "encoder", "decoder_lora"}


def test_every_backend_has_a_conformance_case():
    assert set(FACTORIES) == set(BACKENDS)


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
    if name in NEURAL:
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
    if name == "decoder_lora":
        pytest.importorskip("peft")


_FITTED: dict = {}


@pytest.fixture
def fitted(request, dirs, data):
    """``(backend, data)``: each backend fitted once per module (its eval_set has an unseen label)."""
    name = request.param
    _skip_without_extras(name)
    if name not in _FITTED:
        (tx, ty), val, _ = data
        _FITTED[name] = FACTORIES[name](dirs).fit(tx, ty, eval_set=val)
    return _FITTED[name], data


ALL = pytest.mark.parametrize("fitted", list(FACTORIES), indirect=True)


@ALL
def test_probabilities_are_distributions_over_the_training_classes(fitted):
    backend, ((tx, ty), _, texts) = fitted
    assert list(backend.classes_) == sorted(set(ty))  # "unseen" (validation only) is no class
    proba = backend.predict_proba(texts)
    assert proba.shape == (len(texts), len(COUNTS))
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert backend.predict_proba([]).shape == (0, len(COUNTS))
    assert isinstance(backend.history_, list) and isinstance(backend.info_, dict)


@ALL
def test_predict_is_the_argmax_of_predict_proba(fitted):
    backend, (_, _, texts) = fitted
    pred = backend.predict(texts)
    if backend.name == "cascade":
        # documented exception: predict follows the hard routing (what the cascade's figures
        # measure); a text the router sends to OTHER gets the specialist's label
        routed = backend.router_.predict(texts).astype(str)
        expect = [
            r if r != "__other__" else s
            for r, s in zip(routed, backend.specialist_.predict(texts), strict=True)
        ]
        assert list(pred) == expect
        return
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


@pytest.mark.parametrize("name", list(FACTORIES))
def test_bad_input_is_one_clear_error_before_any_work(name, tmp_path):
    _skip_without_extras(name)
    # the models' directories do not even exist: the input check must come first
    missing = {"bert": str(tmp_path / "none"), "gpt2": str(tmp_path / "none"), "cache": "."}
    backend = FACTORIES[name](missing)
    with pytest.raises(DataError, match="no training texts"):
        backend.fit([], [])
    with pytest.raises(DataError, match="3 texts but 2 labels"):
        backend.fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(DataError, match="eval_set has 2 texts but 1 labels"):
        backend.fit(["a", "b"], ["x", "y"], eval_set=(["a", "b"], ["x"]))


@pytest.mark.parametrize("name", list(FACTORIES))
def test_params_round_trip_and_unknown_params_fail(name, tmp_path):
    _skip_without_extras(name)
    backend = FACTORIES[name]({"bert": "b", "gpt2": "g", "cache": str(tmp_path)})
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
    if "objective" in params:
        assert frozen.posthoc_tau == backend.posthoc_tau
        assert frozen.train.max_steps == backend.info_["best_step"]
    if backend.name == "tfidf":
        assert frozen.posthoc_tau == backend.posthoc_tau
        assert frozen.temperature == backend.info_["temperature"]
    if backend.name == "ensemble":
        assert frozen.weights == list(backend.weights_) and frozen.carve == 0.0
        assert frozen.posthoc_tau == backend.tau_ and frozen.tune_tau is False
    # refit on train + validation (the rows of training classes), nothing left to choose
    known = [i for i, label in enumerate(vy) if label in set(ty)]
    frozen.fit(tx + [vx[i] for i in known], ty + [vy[i] for i in known])
    proba = frozen.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)

"""The guards under class-weighted losses, on real tiny trainings of a long-tailed toy task.

A weighted loss is not minimised by the class prior: its best text-blind prediction is the
prior times the weights (renormalised), which a model learns from the labels alone. Measured
against the plain prior, such a model looked as if it predicted something on validation and
as if it fitted its training rows: a constant text column under sqrt-inverse weights (the
cpu-longtail recipe's) was called labels-unrelated, and shuffled labels could pass as beating
the prior. The reference is now the best constant prediction in the run's own loss."""

import functools
import math
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from tailtune.evaluation.diagnose import diagnose_history  # noqa: E402
from tailtune.objectives.losses import build_loss  # noqa: E402
from tailtune.objectives.weights import class_weights  # noqa: E402
from tailtune.training import TrainSettings, fit_classifier, pad_collate  # noqa: E402
from tailtune.training.watch import Watch, row_losses  # noqa: E402
from tests.training.tiny_models import bag_model, toy_items  # noqa: E402

pytestmark = pytest.mark.integration

COUNTS = {"billing": 100, "delivery": 30, "login": 20, "refund": 10}  # a tail of 10
FLAGS = ("divergence", "not-learning", "collapsed", "identifier-labels", "labels-unrelated")


@pytest.fixture(scope="module")
def data():
    train, tok = toy_items(160, 0, COUNTS)
    val, _ = toy_items(160, 1, COUNTS)
    return train, val, len(tok)


def _loss(train, scheme):
    n = np.bincount([it["labels"] for it in train], minlength=4)
    return build_loss("ce", class_weights=class_weights(n, scheme))


def _fit(train, val, vocab, scheme="sqrt_inverse", **kw):
    base = dict(lr=0.05, epochs=8, batch_size=16, progress=False, patience=None, seed=3,
                num_threads=1)  # fmt: skip
    result = fit_classifier(
        bag_model(vocab, 4, seed=0), train, collate=functools.partial(pad_collate, pad_id=0),
        loss_fn=_loss(train, scheme), num_classes=4, settings=TrainSettings(**{**base, **kw}),
        eval_items=val,
    )  # fmt: skip
    diagnosis = diagnose_history(result.history, n_classes=4, recorded=result.info["guards"])
    return [f["guard"] for f in result.info["guards"]], diagnosis, result


def _shuffled(items, seed=0):
    labels = [it["labels"] for it in items]
    random.Random(seed).shuffle(labels)
    return [{**it, "labels": y} for it, y in zip(items, labels, strict=True)]


@pytest.mark.parametrize("scheme", ["sqrt_inverse", "inverse"])
def test_a_healthy_weighted_run_raises_nothing(data, scheme):
    found, diagnosis, result = _fit(*data, scheme=scheme)
    assert found == [] and diagnosis.verdict not in FLAGS
    assert result.history[-1]["macro_f1_low"] > result.history[-1]["chance_macro_f1"]


def test_a_constant_text_under_sqrt_inverse_weights_is_not_learning_not_memorised(data):
    # the model can only learn a bias: it reaches the weighted loss's text-blind optimum, below
    # the plain prior's loss on training and validation rows alike; before, that read as a
    # training loss "below the prior" at chance: labels-unrelated
    train, val, vocab = data
    same = [{**it, "input_ids": [2, 10, 3]} for it in train]
    found, diagnosis, result = _fit(same, [{**it, "input_ids": [2, 10, 3]} for it in val], vocab)
    assert found == ["not-learning"] and diagnosis.verdict == "not-learning"
    last = result.history[-1]
    assert last["train_loss"] >= 0.98 * last["prior_loss"]  # the bias is all it has
    assert abs(last["val_loss"] - last["val_prior_loss"]) < 2 * last["val_gain_se"]


@pytest.mark.parametrize("scheme", ["sqrt_inverse", "inverse"])
def test_shuffled_labels_under_weights_are_labels_unrelated(data, scheme):
    train, val, vocab = data
    found, diagnosis, _ = _fit(_shuffled(train), val, vocab, scheme=scheme, lr=0.2, epochs=30,
                               patience=3)  # fmt: skip
    assert "labels-unrelated" in found
    assert diagnosis.verdict == "labels-unrelated"


def test_the_reference_is_the_best_constant_prediction_in_the_runs_loss():
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    prior = np.array([0.7, 0.2, 0.1])
    target = torch.as_tensor(y)

    def reference(loss_fn):  # to 1e-3: the loss is float32 and flat at its minimum
        watch = Watch(y, None, 3)
        watch.reference_losses(loss_fn, torch.zeros(len(y), 3), target)
        p = np.exp(watch._ref - watch._ref.max())
        return p / p.sum()

    # plain cross-entropy: the prior itself (H(π) is the reference loss)
    assert reference(build_loss("ce")) == pytest.approx(prior, abs=1e-3)
    # weights w: the prior times the weights, renormalised
    w = np.array([0.5, 1.0, 2.0])
    assert reference(build_loss("ce", class_weights=w)) == pytest.approx(
        prior * w / (prior * w).sum(), abs=1e-3
    )
    # label smoothing ε: (1 − ε)·π + ε/K
    eps = 0.1
    assert reference(build_loss("ce", label_smoothing=eps)) == pytest.approx(
        (1 - eps) * prior + eps / 3, abs=1e-3
    )
    # logit adjustment with τ = 1: raw logits equal for every class (the prior is added)
    adjusted = build_loss("logit_adjusted", log_priors=np.log(prior), tau=1.0)
    assert reference(adjusted) == pytest.approx(np.full(3, 1 / 3), abs=1e-3)


def test_the_noise_of_the_validation_gain_is_read_in_the_runs_loss():
    rng = np.random.default_rng(0)
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    w = np.array([0.5, 1.0, 3.0])
    loss_fn = build_loss("ce", class_weights=w)
    watch = Watch(y, None, 3)
    logits = rng.normal(size=(100, 3))
    figures = watch.figures(y, logits, loss_fn)
    ref = np.broadcast_to(watch._ref, logits.shape)

    def weighted_nll(z):
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(y)), y] * w[y]

    diff = weighted_nll(logits) - weighted_nll(ref)
    assert figures["val_gain_se"] == pytest.approx(diff.std(ddof=1) / math.sqrt(100), rel=1e-4)
    assert figures["val_prior_loss"] == pytest.approx(weighted_nll(ref).mean(), rel=1e-5)
    # per-row losses average to the batch loss
    z, t = torch.as_tensor(logits, dtype=torch.float32), torch.as_tensor(y)
    assert float(row_losses(loss_fn, z, t).mean()) == pytest.approx(float(loss_fn(z, t)), 1e-5)


@pytest.mark.parametrize("every", [2, 5])
def test_frequent_evaluations_of_a_healthy_weighted_run_raise_nothing(data, every):
    # 10 steps an epoch, evaluated every 2 or 5: half an epoch of a loss that sits at the
    # weighted prior's level before the text is learned is not "no longer falls"
    found, diagnosis, result = _fit(*data, eval_every=every)
    assert found == [] and diagnosis.verdict not in FLAGS
    assert result.history[-1]["macro_f1_low"] > result.history[-1]["chance_macro_f1"]

"""Post-hoc logit adjustment (Menon et al. 2021) against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.objectives import (
    DEFAULT_TAU_GRID,
    adjust_logits,
    adjust_probabilities,
    priors_from_counts,
    tune_tau,
)

pytestmark = pytest.mark.unit


def test_priors_from_counts():
    np.testing.assert_allclose(priors_from_counts([1, 3]), [0.25, 0.75])
    with pytest.raises(ValueError):
        priors_from_counts([0, 3])


def test_tau_zero_is_identity():
    logits = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    priors = np.array([0.7, 0.2, 0.1])
    np.testing.assert_array_equal(adjust_logits(logits, priors, 0.0), logits)
    np.testing.assert_allclose(adjust_probabilities(probs, priors, 0.0), probs, rtol=1e-12)


def test_tau_one_on_uniform_logits_predicts_rarest_class():
    priors = np.array([0.7, 0.2, 0.1])
    z = adjust_logits(np.zeros((1, 3)), priors, 1.0)
    np.testing.assert_allclose(z, [[-np.log(0.7), -np.log(0.2), -np.log(0.1)]])
    assert z.argmax() == 2


def test_adjust_probabilities_hand_computed():
    p = np.array([[0.5, 0.3, 0.2]])
    # tau = 1 with priors equal to the prediction: p / pi = 1 for every class -> uniform
    np.testing.assert_allclose(adjust_probabilities(p, p[0], 1.0), [[1 / 3] * 3])
    # tau = 0.5: p * pi^-0.5 = sqrt(p) here, renormalized
    s = np.sqrt(p)
    np.testing.assert_allclose(adjust_probabilities(p, p[0], 0.5), s / s.sum(), rtol=1e-12)


def test_adjust_probabilities_is_stable_and_keeps_zeros():
    p = np.array([[0.0, 1.0], [1e-300, 1 - 1e-16]])
    # naively 1e-300 * (1e-8)^-50 = 1e100, and (1e-8)^-50 alone overflows float64
    out = adjust_probabilities(p, np.array([1e-8, 1 - 1e-8]), 50.0)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[0, 0] == 0.0 and out[1, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        adjust_probabilities(p, np.array([0.5, 0.3, 0.2]), 1.0)


def test_tune_tau_hand_computed():
    # priors 0.9 / 0.1; nine class-0 rows with p1 = 0.1, one class-1 row with p1 = 0.4.
    # Adjusted odds p1/p0 * 9^tau: the class-1 row flips at tau > log 1.5 / log 9 = 0.185,
    # the class-0 rows at tau > 1. So tau = 0.2 is the smallest perfect grid point.
    probs = np.array([[0.9, 0.1]] * 9 + [[0.6, 0.4]])
    gold = np.array([0] * 9 + [1])
    priors = np.array([0.9, 0.1])
    best, scores = tune_tau(probs, gold, priors)
    assert best == 0.2
    assert list(scores) == [float(t) for t in DEFAULT_TAU_GRID]
    assert scores[0.0] == pytest.approx((18 / 19 + 0) / 2)  # all class 0: F1_0 = 18/19
    assert scores[0.2] == 1.0 and scores[0.9] == 1.0
    assert scores[1.1] == pytest.approx((0 + 2 / 11) / 2)  # all class 1: F1_1 = 2/11
    best_acc, acc = tune_tau(probs, gold, priors, grid=[0.0, 0.5], metric="accuracy")
    assert best_acc == 0.5 and acc == {0.0: 0.9, 0.5: 1.0}
    with pytest.raises(ValueError, match="macro_f1"):
        tune_tau(probs, gold, priors, metric="zero_f1")


def test_tau_one_is_best_for_balanced_error_with_true_posteriors():
    # Menon et al. 2021 (Thm 1): with exact posteriors, tau = 1 is Bayes-optimal for balanced
    # error. Three 1-D Gaussian classes with priors 0.80 / 0.15 / 0.05.
    rng = np.random.default_rng(0)
    priors = np.array([0.80, 0.15, 0.05])
    means = np.array([0.0, 1.5, 3.0])
    y = rng.choice(3, size=60_000, p=priors)
    x = rng.normal(means[y], 1.0)
    log_joint = -0.5 * (x[:, None] - means[None, :]) ** 2 + np.log(priors)
    post = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    post /= post.sum(axis=1, keepdims=True)
    best, scores = tune_tau(post, y, priors, metric="balanced_accuracy")
    assert scores[1.0] - scores[0.0] > 0.05
    assert abs(best - 1.0) <= 0.2 and scores[best] - scores[1.0] < 0.005

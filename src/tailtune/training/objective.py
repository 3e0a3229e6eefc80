"""From an :class:`~tailtune.objectives.Objective` and training counts to a loss; post-hoc τ.

The glue the neural backends share between the objective's settings and the pure functions of
:mod:`tailtune.objectives` (class weights, losses, logit adjustment).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["make_loss", "softmax", "tuned_tau"]


def make_loss(counts: np.ndarray, objective):
    """The training loss for class ``counts`` (in class order) and an ``Objective``."""
    from tailtune.objectives.losses import build_loss
    from tailtune.objectives.weights import class_weights

    weights = None
    if objective.class_weights != "none":
        weights = class_weights(
            counts, objective.class_weights, beta=objective.beta, cap=objective.weight_cap
        )
    priors = np.asarray(counts, dtype=np.float64) / np.sum(counts)
    return build_loss(
        objective.loss,
        class_weights=weights,
        label_smoothing=objective.label_smoothing,
        focal_gamma=objective.focal_gamma,
        log_priors=np.log(priors),
        tau=objective.logit_adjust_tau,
    )


def softmax(logits) -> np.ndarray:
    """Row-wise softmax of a (n, K) array or tensor, float64, rows summing to 1."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def tuned_tau(
    probs: np.ndarray, gold: np.ndarray, priors: np.ndarray, grid: Sequence[float] | None = None
) -> float:
    """τ of post-hoc logit adjustment chosen on validation macro F1 (Menon et al. 2021)."""
    from tailtune.objectives.adjust import DEFAULT_TAU_GRID, tune_tau

    tau, _ = tune_tau(probs, gold, priors, grid=DEFAULT_TAU_GRID if grid is None else grid)
    return float(tau)

"""Post-hoc logit adjustment (Menon et al. 2021, "Long-tail learning via logit adjustment", ICLR).

A classifier trained with plain cross-entropy estimates p(y | x) ∝ p(x | y) · π_y, so its
argmax favours frequent classes. Subtracting τ · log π_y from the logits (eq. 3 of the paper,
τ = 1) gives the Bayes-optimal rule for the *balanced* error, at prediction time and with no
retraining. τ trades accuracy for macro F1 and is best chosen on validation data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "adjust_logits",
    "adjust_probabilities",
    "priors_from_counts",
    "tune_tau",
    "DEFAULT_TAU_GRID",
]

DEFAULT_TAU_GRID = np.round(np.linspace(0.0, 2.0, 21), 10)
_TUNABLE = (
    "macro_f1",
    "accuracy",
    "weighted_f1",
    "balanced_accuracy",
    "macro_recall",
    "macro_precision",
)


def priors_from_counts(counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """Class priors π_c = n_c / Σ n from training counts (all must be positive)."""
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or n.size == 0 or np.any(n <= 0) or not np.all(np.isfinite(n)):
        raise ValueError("counts must be a non-empty 1-D array of positive numbers")
    return n / n.sum()


def adjust_logits(logits: np.ndarray, priors: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Return ``logits − τ · log π`` (Menon et al. 2021, eq. 3), broadcast over rows.

    τ = 0 is the identity; τ = 1 is the balanced-error-optimal rule when the logits are
    calibrated log-posteriors.
    """
    logits = np.asarray(logits, dtype=np.float64)
    log_prior = np.log(_check_priors(priors, logits.shape[-1]))
    return logits - tau * log_prior


def adjust_probabilities(probs: np.ndarray, priors: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Adjust predicted probabilities: softmax(log p − τ · log π), rows summing to 1.

    Equivalent to ``p_c · π_c^(−τ)`` renormalized; done in log space with a max-shifted softmax
    so that tiny probabilities and large τ neither underflow nor overflow. Zero
    probabilities stay zero.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"probs must be 2-D (n, K), got shape {probs.shape}")
    with np.errstate(divide="ignore"):
        z = adjust_logits(np.log(probs), priors, tau)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _check_priors(priors: np.ndarray, k: int) -> np.ndarray:
    """Priors as a positive float vector of length ``k``."""
    p = np.asarray(priors, dtype=np.float64)
    if p.shape != (k,):
        raise ValueError(f"priors must have shape ({k},), got {p.shape}")
    if np.any(p <= 0) or not np.all(np.isfinite(p)):
        raise ValueError("priors must be positive and finite")
    return p


def tune_tau(
    probs: np.ndarray,
    y_true_idx: Sequence[int] | np.ndarray,
    priors: np.ndarray,
    grid: Sequence[float] | np.ndarray = DEFAULT_TAU_GRID,
    metric: str = "macro_f1",
) -> tuple[float, dict[float, float]]:
    """Pick τ from ``grid`` maximizing ``metric`` on held-out predictions.

    ``y_true_idx`` are gold class indices into the columns of ``probs``. ``metric`` is a
    scalar score of :func:`tailtune.evaluation.compute_metrics` (``macro_f1``, ``accuracy``,
    ``weighted_f1``, ``balanced_accuracy``, ``macro_recall``, ``macro_precision``).
    Returns ``(best_tau, {tau: score})``; ties go to the smallest τ, the least change from
    the trained model.
    """
    if metric not in _TUNABLE:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(_TUNABLE)}")
    probs = np.asarray(probs, dtype=np.float64)
    gold = np.asarray(y_true_idx)
    if gold.shape != (probs.shape[0],):
        raise ValueError(f"{probs.shape[0]} rows of probabilities but {gold.size} gold labels")
    from tailtune.evaluation.metrics import compute_metrics  # pandas: only when tuning

    scores: dict[float, float] = {}
    for tau in sorted(float(t) for t in grid):
        pred = adjust_probabilities(probs, priors, tau).argmax(axis=1)
        scores[tau] = float(compute_metrics(gold, pred)[metric])
    best = max(scores, key=lambda t: (scores[t], -t))
    return best, scores

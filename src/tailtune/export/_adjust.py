"""Folding tailtune's prediction-time adjustments into a linear classifier's weights.

tailtune predicts ``softmax(z / T - τ · log π)``: ``z`` the classifier's logits, ``T`` a softmax
temperature (Guo et al. 2017, "On calibration of modern neural networks", ICML; 1 for the neural
backends) and ``τ · log π`` the post-hoc logit adjustment of Menon et al. 2021 ("Long-tail
learning via logit adjustment", ICLR, eq. 3). For a linear last layer ``z = W h + b`` both are
affine in ``z`` and the shift is one constant per class, so

    z / T - τ · log π = (W / T) h + (b / T - τ · log π)

and an exported model that carries ``W' = W / T`` and ``b' = b / T - τ · log π`` predicts exactly
what tailtune predicts, with no code of tailtune's at inference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logit_offset", "fold_linear", "fold_binary"]


def logit_offset(prior: np.ndarray, tau: float) -> np.ndarray:
    """The per-class constant ``-τ · log π`` added to the logits (Menon et al. 2021, eq. 3)."""
    prior = np.asarray(prior, dtype=np.float64)
    if not tau:
        return np.zeros_like(prior)
    if np.any(prior <= 0) or not np.all(np.isfinite(prior)):
        raise ValueError("class priors must be positive and finite")
    return -float(tau) * np.log(prior)


def fold_linear(
    weight: np.ndarray,
    bias: np.ndarray | None,
    prior: np.ndarray,
    tau: float = 0.0,
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(W / T, b / T - τ · log π)`` for a ``(K, D)`` weight and ``(K,)`` bias (None = zeros)."""
    weight = np.asarray(weight, dtype=np.float64)
    k = weight.shape[0]
    bias = np.zeros(k) if bias is None else np.asarray(bias, dtype=np.float64)
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return weight / temperature, bias / temperature + logit_offset(prior, tau)


def fold_binary(
    weight: np.ndarray,
    bias: float,
    prior: np.ndarray,
    tau: float = 0.0,
    temperature: float = 1.0,
    margin_scale: float = 1.0,
) -> tuple[np.ndarray, float]:
    """One-score form ``d' = w' · x + b'`` of a two-class model for ``[1 - σ(d'), σ(d')]``.

    A two-class linear model scores one margin ``s``; its class logits are ``(-s, s)`` when
    ``margin_scale`` is 2 (tailtune's softmax over ``[-s, s]``) or ``(0, s)`` when it is 1
    (logistic regression). ``softmax([a, c]) = [1 - σ(c - a), σ(c - a)]``, so the adjusted pair
    ``(a / T - τ log π0, c / T - τ log π1)`` becomes one score
    ``d' = margin_scale · s / T - τ · log(π1 / π0)``.
    """
    prior = np.asarray(prior, dtype=np.float64)
    off = logit_offset(prior, tau)
    scale = margin_scale / temperature
    w = np.asarray(weight, dtype=np.float64).reshape(-1) * scale
    return w, float(bias) * scale + float(off[1] - off[0])

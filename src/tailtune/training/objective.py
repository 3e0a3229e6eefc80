"""From objective keyword arguments and training counts to a loss; post-hoc τ for neural backends.

The neural backends take the objective and training fields as flat keyword arguments (the names
of ``ObjectiveConfig`` and ``TrainConfig``); this module holds their defaults and the glue.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tailtune.errors import ConfigError
from tailtune.training.settings import TrainSettings

__all__ = ["OBJECTIVE_DEFAULTS", "make_loss", "neural_params", "softmax", "tuned_tau"]

OBJECTIVE_DEFAULTS = {
    "loss": "ce",
    "class_weights": "none",
    "beta": 0.999,
    "weight_cap": None,
    "label_smoothing": 0.0,
    "focal_gamma": 2.0,
    "logit_adjust_tau": 1.0,
    "posthoc_tau": 0.0,
    "tune_posthoc_tau": False,
    "sampler": "none",
    "sampler_epoch_size": None,
}


def neural_params(backend: str, params: dict, extra: dict | None = None) -> dict:
    """Defaults of every objective/training field, overridden by ``params``; unknown names raise."""
    train = {f.name: f.default for f in dataclasses.fields(TrainSettings) if f.name != "seed"}
    defaults = {**OBJECTIVE_DEFAULTS, **train, **(extra or {})}
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(f"{backend} backend: unknown parameter(s) {', '.join(unknown)}")
    return {**defaults, **params}


def make_loss(counts: np.ndarray, params: dict):
    """The training loss for class ``counts`` (in class order) and the objective ``params``."""
    from tailtune.objectives.losses import build_loss
    from tailtune.objectives.weights import class_weights

    weights = None
    if params["class_weights"] != "none":
        weights = class_weights(
            counts, params["class_weights"], beta=params["beta"], cap=params["weight_cap"]
        )
    priors = np.asarray(counts, dtype=np.float64) / np.sum(counts)
    return build_loss(
        params["loss"],
        class_weights=weights,
        label_smoothing=params["label_smoothing"],
        focal_gamma=params["focal_gamma"],
        log_priors=np.log(priors),
        tau=params["logit_adjust_tau"],
    )


def softmax(logits) -> np.ndarray:
    """Row-wise softmax of a (n, K) array or tensor, float64, rows summing to 1."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def tuned_tau(probs: np.ndarray, gold: np.ndarray, priors: np.ndarray) -> float:
    """τ of post-hoc logit adjustment chosen on validation macro F1 (Menon et al. 2021)."""
    from tailtune.objectives.adjust import tune_tau

    tau, _ = tune_tau(probs, gold, priors)
    return float(tau)

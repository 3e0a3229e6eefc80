"""From an :class:`~tailtune.objectives.ObjectiveSettings` and training counts to a loss; post-hoc τ.

The glue the neural backends share between the objective's settings and the pure functions of
:mod:`tailtune.objectives` (class weights, losses, logit adjustment).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "make_loss",
    "make_set_loss",
    "set_metrics_fn",
    "set_positive_weights",
    "set_rule",
    "softmax",
    "tuned_tau",
]


def make_loss(counts: np.ndarray, objective):
    """The training loss for class ``counts`` (in class order) and an ``ObjectiveSettings``."""
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


def make_set_loss(y: np.ndarray, objective):
    """The multi-label training loss for the (texts × labels) 0/1 training matrix ``y``:
    ``objective.set_loss``, with ``objective.class_weights`` as per-label positive weights."""
    from tailtune.objectives.multilabel import build_set_loss

    return build_set_loss(
        objective.set_loss,
        pos_weight=set_positive_weights(y, objective),
        focal_gamma=objective.focal_gamma,
        label_counts=np.asarray(y).sum(axis=0).tolist(),
        n_texts=len(y),
    )


def set_positive_weights(y: np.ndarray, objective) -> np.ndarray | None:
    """The per-label positive weights ``objective.class_weights`` gives the training 0/1 matrix
    ``y`` (None when unweighted): what the set losses weight positives by."""
    from tailtune.objectives.weights import positive_weights

    if objective.class_weights == "none":
        return None
    return positive_weights(y, objective.class_weights, beta=objective.beta,
                            cap=objective.weight_cap)  # fmt: skip


def set_rule(scores: np.ndarray | None, y: np.ndarray | None, labels, objective):
    """The decision rule for label sets from an ``ObjectiveSettings``: thresholds tuned on validation
    ``scores`` / ``y`` (tailtune.objectives.thresholds), or 0.5 for every label when tuning is
    off or there is no validation data."""
    from tailtune.objectives.thresholds import SetRule, tune_set_rule

    kw = {"top_k": objective.max_labels, "at_least_one": objective.at_least_one}
    if not objective.tune_thresholds or scores is None or y is None or not len(y):
        return SetRule.fixed([str(x) for x in labels], 0.5, **kw)
    return tune_set_rule(scores, y, [str(x) for x in labels], shrink=objective.threshold_shrink,
                         **kw)  # fmt: skip


def set_metrics_fn(objective, labels):
    """``metrics_fn(logits, y)`` of the training loop for label sets: sigmoid scores, the
    decision rule ``objective`` makes on these validation labels, then the multi-label metrics
    (so early stopping follows the macro F1 the saved model will have); ``predicted`` holds the
    0/1 sets the rule gave, for the guards (:mod:`tailtune.training.watch`)."""
    from tailtune.backends._sets import sigmoid
    from tailtune.evaluation.set_metrics import set_metrics

    names = [str(x) for x in labels]

    def metrics(logits, y):
        scores = sigmoid(np.asarray(logits))
        y = np.asarray(y) > 0.5
        rule = set_rule(scores, y, names, objective)
        predicted = rule.apply(scores)
        return set_metrics(y, predicted, names) | {"predicted": predicted}

    return metrics


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

"""Checks before the first step: each failure is one line the user can act on."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tailtune.errors import ConfigError, DataError
from tailtune.training.batching import item_column

__all__ = [
    "check_head_trainable",
    "check_inputs",
    "check_labels",
    "check_metric",
    "check_pad_token",
    "unseen_classes",
]

HEAD_NAMES = ("classifier", "score", "head")


def check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    """Every label is an integer class index in ``[0, num_classes)``."""
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise DataError(
            f"{where}: label index {int(labels[bad[0]])} at position {int(bad[0])} is outside "
            f"[0, {num_classes}) ({bad.size} such rows)"
        )


def unseen_classes(train_labels: np.ndarray, val_labels: np.ndarray) -> list[int]:
    """Class indices present in validation but absent from training (reported, not fatal)."""
    return sorted(set(np.unique(val_labels).tolist()) - set(np.unique(train_labels).tolist()))


def check_head_trainable(model) -> int:
    """Return the number of trainable parameters; raise if none, or if the head is frozen.

    The head is the ``classifier`` / ``score`` / ``head`` submodule when the model has one.
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if trainable == 0:
        raise ConfigError("model: no parameter is trainable (everything is frozen)")
    for name in HEAD_NAMES:
        head = getattr(model, name, None)
        if head is not None and hasattr(head, "parameters"):
            params = list(head.parameters())
            if params and not any(p.requires_grad for p in params):
                raise ConfigError(f"model: the classification head '{name}' is frozen")
            break
    return trainable


def check_pad_token(tokenizer) -> None:
    """Dynamic padding needs a pad token."""
    if getattr(tokenizer, "pad_token_id", None) is None:
        raise ConfigError(
            "model.name: the tokenizer has no pad token and no EOS/UNK to use instead"
        )


def check_metric(metrics_fn: Callable, labels: np.ndarray, num_classes: int, metric: str) -> None:
    """The early-stopping metric is a key the evaluation produces (tried on uniform logits)."""
    if metric == "val_loss":
        return
    probe = metrics_fn(np.zeros((len(labels), num_classes), dtype=np.float32), labels)
    if metric not in probe:
        scalars = sorted(k for k, v in probe.items() if isinstance(v, int | float))
        raise ConfigError(
            f"train.early_stopping_metric: got {metric!r}, expected one of val_loss, "
            + ", ".join(scalars)
        )


def check_inputs(train_items, eval_items, num_classes, metrics_fn, metric: str, log):
    """Fail before the first step, not hours in: labels in range, the metric exists.

    An item's ``labels`` is a class index, or (label sets) a 0/1 vector over the classes.
    """
    if np.ndim(train_items[0]["labels"]) == 1:
        return _check_set_inputs(train_items, eval_items, num_classes, metrics_fn, metric)
    labels = np.asarray(item_column(train_items, "labels"), dtype=np.int64)
    check_labels(labels, num_classes, "training labels")
    if eval_items is None:
        return labels, None
    val_labels = np.asarray(item_column(eval_items, "labels"), dtype=np.int64)
    check_labels(val_labels, num_classes, "validation labels")
    check_metric(metrics_fn, val_labels, num_classes, metric)
    if unseen := unseen_classes(labels, val_labels):
        log(f"warning: {len(unseen)} validation classes never occur in training: {unseen[:10]}")
    return labels, val_labels


def _check_set_inputs(train_items, eval_items, num_classes, metrics_fn, metric):
    """Label sets: every item a 0/1 vector of ``num_classes`` entries."""
    out = []
    for items, where in ((train_items, "training labels"), (eval_items, "validation labels")):
        if items is None:
            out.append(None)
            continue
        y = np.asarray(item_column(items, "labels"), dtype=np.float32)
        if y.ndim != 2 or y.shape[1] != num_classes or not np.isin(y, (0.0, 1.0)).all():
            raise ValueError(f"{where}: expected a 0/1 vector of {num_classes} labels per item")
        out.append(y)
    if out[1] is not None:
        check_metric(metrics_fn, out[1], num_classes, metric)
    return out[0], out[1]

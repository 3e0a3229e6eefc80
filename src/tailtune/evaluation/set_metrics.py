"""Multi-label metrics over 0/1 matrices (texts × labels), in numpy.

Definitions (gold ``Y``, predicted ``P``; tp/fp/fn per label or per text):

- per label j: precision = tp / predicted (0 when never predicted), recall = tp / support,
  F1 = 2·tp / (support + predicted);
- macro_f1: the mean F1 over the labels present in the evaluation gold (as the single-label
  metrics, :mod:`tailtune.evaluation.metrics`: an absent label adds no free zero);
- micro_f1: 2·Σtp / (Σsupport + Σpredicted), all label decisions pooled;
- samples_f1: the mean over texts of 2·tp / (|gold| + |predicted|), a text whose gold and
  predicted sets are both empty scoring 1 (``sklearn.metrics.f1_score(average="samples",
  zero_division=1)``);
- subset_accuracy: the share of texts whose predicted set equals the gold set exactly;
- hamming_loss: the share of the N·K label decisions that are wrong.

So that run tables, cards and comparisons written for single-label runs read a multi-label run
too, the result also carries ``accuracy`` (= subset accuracy), ``weighted_f1`` (per-label F1
weighted by support, scikit-learn's ``average="weighted"``), ``macro_precision``,
``macro_recall`` and ``balanced_accuracy`` (= macro recall, its single-label definition).

Tiers follow the one rule of :func:`tailtune.evaluation.tiers.resolve_tiers` on each label's
training positives. :func:`bootstrap_sets` resamples texts (a text's labels travel together) for
intervals and paired comparisons (Koehn 2004; Dror et al. 2018).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tailtune.evaluation._bootstrap import percentile_ci
from tailtune.evaluation.tiers import resolve_tiers, tier_summary

__all__ = [
    "bootstrap_sets",
    "paired_bootstrap_sets",
    "per_label_table",
    "resampled_set_scores",
    "set_metrics",
]


def set_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    labels: Sequence[str],
    *,
    train_counts: Mapping[str, int] | None = None,
    tiers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """micro / macro / samples F1, subset accuracy, Hamming loss, zero-F1 labels and tiers."""
    y, pred = _check(y, pred, labels)
    tp, support, predicted = _counts(y, pred)
    present = support > 0
    f1 = 2.0 * tp / np.maximum(support + predicted, 1)
    precision = np.divide(tp, predicted, out=np.zeros(len(tp)), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(len(tp)), where=support > 0)
    subset = float((y == pred).all(axis=1).mean())
    out = {
        "accuracy": subset,
        "weighted_f1": float((f1 * support).sum() / max(support.sum(), 1)),
        "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "micro_f1": float(2.0 * tp.sum() / max(support.sum() + predicted.sum(), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "samples_f1": float(_samples_f1(y, pred).mean()),
        "subset_accuracy": subset,
        "hamming_loss": float((y != pred).mean()),
        "zero_f1": int(np.sum(f1[present] == 0.0)),
        "zero_f1_labels": [labels[j] for j in np.flatnonzero(present & (f1 == 0))],
        "mean_labels_gold": float(y.sum(axis=1).mean()),
        "mean_labels_predicted": float(pred.sum(axis=1).mean()),
        "empty_predictions": int((pred.sum(axis=1) == 0).sum()),
        "n_examples": int(len(y)),
        "n_labels": int(present.sum()),
        "n_classes": int(present.sum()),
        "macro_over": f"labels present in the evaluation gold ({int(present.sum())})",
    }
    if tiers is None and train_counts is not None:
        tiers = resolve_tiers(train_counts).tiers
    if tiers is not None:
        idx = np.flatnonzero(present)
        out["tiers"] = tier_summary([tiers.get(labels[j], "tail") for j in idx], f1[idx])
    return out


def per_label_table(
    y: np.ndarray,
    pred: np.ndarray,
    labels: Sequence[str],
    *,
    train_counts: Mapping[str, int] | None = None,
    tiers: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per label present in gold, the rows whose F1 values average to ``macro_f1``:
    ``label, tier, train_count, support, predicted, missed, spurious, precision, recall, f1``
    (the columns of :func:`tailtune.evaluation.per_class_table`, plus missed = false negatives
    and spurious = false positives). Sorted by training count, else support, then label."""
    y, pred = _check(y, pred, labels)
    tp, support, predicted = _counts(y, pred)
    if tiers is None and train_counts is not None:
        tiers = resolve_tiers(train_counts).tiers
    counts = [int(train_counts.get(c, 0)) if train_counts is not None else pd.NA for c in labels]
    table = pd.DataFrame({
        "label": list(labels),
        "tier": [tiers.get(c, "tail") if tiers is not None else None for c in labels],
        "train_count": pd.array(counts, dtype="Int64"),
        "support": support.astype(np.int64), "predicted": predicted.astype(np.int64),
        "missed": (support - tp).astype(np.int64), "spurious": (predicted - tp).astype(np.int64),
        "precision": np.divide(tp, predicted, out=np.zeros(len(tp)), where=predicted > 0),
        "recall": np.divide(tp, support, out=np.zeros(len(tp)), where=support > 0),
        "f1": 2.0 * tp / np.maximum(support + predicted, 1),
    })[support > 0]  # fmt: skip
    key = "train_count" if train_counts is not None else "support"
    table = table.sort_values([key, "label"], ascending=[False, True], kind="mergesort")
    return table.reset_index(drop=True)


def bootstrap_sets(
    y: np.ndarray, pred: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, dict[str, float]]:
    """Percentile intervals of micro, macro and samples F1 over texts resampled with
    replacement (Efron & Tibshirani 1993, §13.3); ``{metric: {value, low, high}}``."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    samples = resampled_set_scores(y, pred, idx)
    point = resampled_set_scores(y, pred, np.arange(len(y))[None, :])
    return {k: _interval(point[k][0], v, level) for k, v in samples.items()}


def paired_bootstrap_sets(
    y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *, n_boot: int = 1000,
    seed: int = 0, level: float = 0.95,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """``b − a`` on the same resampled texts: ``{metric: {a, b, diff, low, high, meaningful,
    p_le_0}}``, ``p_le_0`` being the share of resamples where b did not beat a."""
    y = np.asarray(y, dtype=bool)
    a, b = np.asarray(pred_a, dtype=bool), np.asarray(pred_b, dtype=bool)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    full = np.arange(len(y))[None, :]
    sa, sb = resampled_set_scores(y, a, idx), resampled_set_scores(y, b, idx)
    pa, pb = resampled_set_scores(y, a, full), resampled_set_scores(y, b, full)
    out = {}
    for k in sa:
        diff = sb[k] - sa[k]
        lo, hi = percentile_ci(diff, level)
        out[k] = {"a": float(pa[k][0]), "b": float(pb[k][0]), "diff": float(pb[k][0] - pa[k][0]),
                  "low": lo, "high": hi, "meaningful": bool(lo > 0 or hi < 0),
                  "p_le_0": float((diff <= 0).mean())}  # fmt: skip
    return out


def resampled_set_scores(y: np.ndarray, pred: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """micro / macro / samples F1 and subset accuracy of every row of resampled text indices
    ``idx`` (B, n), as ``(B,)`` arrays."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    hit, gold, said = (y & pred).astype(np.int32), y.astype(np.int32), pred.astype(np.int32)
    per_text = _samples_f1(y, pred)
    exact = (y == pred).all(axis=1)
    out = {"micro_f1": [], "macro_f1": [], "samples_f1": [], "subset_accuracy": []}
    for rows in idx:  # B x K counts, one resample at a time keeps memory at n x K
        tp, sup, prd = hit[rows].sum(0), gold[rows].sum(0), said[rows].sum(0)
        present = sup > 0
        f1 = 2.0 * tp / np.maximum(sup + prd, 1)
        out["micro_f1"].append(2.0 * tp.sum() / max(sup.sum() + prd.sum(), 1))
        out["macro_f1"].append(f1[present].mean() if present.any() else 0.0)
        out["samples_f1"].append(per_text[rows].mean())
        out["subset_accuracy"].append(exact[rows].mean())
    return {k: np.asarray(v) for k, v in out.items()}


def _samples_f1(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    tp = (y & pred).sum(axis=1)
    denom = y.sum(axis=1) + pred.sum(axis=1)
    return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 1.0)


def _counts(y, pred):
    return (y & pred).sum(axis=0), y.sum(axis=0), pred.sum(axis=0)


def _interval(value: float, samples: np.ndarray, level: float) -> dict[str, float]:
    lo, hi = percentile_ci(samples, level)
    return {"value": float(value), "low": lo, "high": hi}


def _check(y, pred, labels) -> tuple[np.ndarray, np.ndarray]:
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    if y.shape != pred.shape or y.ndim != 2 or y.shape[1] != len(labels):
        raise ValueError(f"gold {y.shape} and predictions {pred.shape} for {len(labels)} labels")
    if not len(y):
        raise ValueError("cannot compute metrics on zero examples")
    return y, pred

"""Long-tail classification metrics over label arrays, computed from confusion counts in numpy.

Which classes the macro average runs over decides the number, so it is fixed and stated:
**the classes present in the evaluation gold labels** (scikit-learn's ``labels=`` argument set
to them). A class that is absent from the evaluation data adds no free zero to the average.
A prediction of such an absent class still counts: it is a false negative of the gold class
(lowering that class's recall and F1), but the absent class contributes no F1 term of its own.

Definitions, per class c among the K classes present in gold (tp = true positives,
support = gold count, predicted = predicted count, N = examples):

- precision_c = tp / predicted (0 when never predicted, as sklearn's ``zero_division=0``),
  recall_c = tp / support, F1_c = 2·tp / (support + predicted) (= harmonic mean of P and R).
- macro_* = unweighted mean over the K classes; weighted_f1 = Σ F1_c · support_c / N.
- balanced_accuracy = mean recall over the K classes = macro_recall. This equals
  ``sklearn.metrics.balanced_accuracy_score`` (which drops predicted-only classes, whose
  recall is undefined) and ``recall_score(average="macro", labels=present)``.
- zero_f1 = how many of the K classes have F1 exactly 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from tailtune.evaluation.tiers import resolve_tiers, tier_summary

__all__ = ["compute_metrics", "per_class_table", "f1_histogram", "MACRO_OVER"]

MACRO_OVER = "classes present in the evaluation gold labels ({n})"


def compute_metrics(
    gold: Sequence | np.ndarray,
    pred: Sequence | np.ndarray,
    *,
    train_counts: Mapping[str, int] | None = None,
    head_min: int | None = None,
    tail_max: int | None = None,
    tiers: Mapping[str, str] | None = None,
) -> dict:
    """Accuracy, macro/weighted F1, macro P/R, balanced accuracy, zero-F1 count and tiers.

    Keys: ``accuracy, macro_f1, weighted_f1, macro_precision, macro_recall,
    balanced_accuracy, zero_f1, n_examples, n_classes, n_predicted_absent, macro_over`` and,
    when ``train_counts`` (or ``tiers``) is given, ``tiers: {head|mid|tail: {n_classes,
    mean_f1, zero_f1}}`` with tiers by training count: ``tiers`` maps label -> tier (a run's
    :func:`~tailtune.evaluation.tiers.resolve_tiers`), else they are resolved from
    ``train_counts`` with ``head_min`` / ``tail_max`` (None = auto). A gold class missing from
    them is tail. ``n_predicted_absent`` is how many predictions name a class absent from gold.
    Values are plain Python numbers, ready for JSON.
    """
    pc = _per_class(gold, pred)
    n = pc["n"]
    k = len(pc["labels"])
    out = {
        "accuracy": float(pc["tp"].sum() / n),
        "macro_f1": float(pc["f1"].mean()),
        "weighted_f1": float((pc["f1"] * pc["support"]).sum() / n),
        "macro_precision": float(pc["precision"].mean()),
        "macro_recall": float(pc["recall"].mean()),
        "balanced_accuracy": float(pc["recall"].mean()),
        "zero_f1": int(np.sum(pc["f1"] == 0.0)),
        "n_examples": int(n),
        "n_classes": int(k),
        "n_predicted_absent": int(pc["predicted_absent"]),
        "macro_over": MACRO_OVER.format(n=k),
    }
    tiers = _tier_map(train_counts, head_min, tail_max, tiers)
    if tiers is not None:
        out["tiers"] = tier_summary([tiers.get(c, "tail") for c in pc["labels"]], pc["f1"])
    return out


def _tier_map(train_counts, head_min, tail_max, tiers) -> Mapping[str, str] | None:
    """The label -> tier map to use: ``tiers`` as given, else resolved from the counts."""
    if tiers is not None:
        return tiers
    if train_counts is None:
        return None
    return resolve_tiers(train_counts, head_min, tail_max).tiers


def _per_class(gold: Sequence | np.ndarray, pred: Sequence | np.ndarray) -> dict:
    """Per-class counts and scores for the classes present in ``gold`` (sorted labels)."""
    gold = np.asarray(gold)
    pred = np.asarray(pred)
    if gold.ndim != 1 or gold.shape != pred.shape:
        raise ValueError(
            f"gold and pred must be 1-D of equal length, got {gold.shape}, {pred.shape}"
        )
    if gold.size == 0:
        raise ValueError("cannot compute metrics on zero examples")
    labels, inv = np.unique(np.concatenate([gold, pred]), return_inverse=True)
    g, p = inv[: gold.size], inv[gold.size :]
    m = len(labels)
    support = np.bincount(g, minlength=m)
    predicted = np.bincount(p, minlength=m)
    tp = np.bincount(g[g == p], minlength=m)
    present = support > 0
    support, predicted, tp = support[present], predicted[present], tp[present]
    precision = np.divide(tp, predicted, out=np.zeros(len(tp)), where=predicted > 0)
    return {
        "labels": labels[present],
        "tp": tp,
        "support": support,
        "predicted": predicted,
        "precision": precision,
        "recall": tp / support,
        "f1": 2.0 * tp / (support + predicted),
        "n": gold.size,
        "predicted_absent": int(np.sum(~present[p])),
    }


def per_class_table(
    gold: Sequence | np.ndarray,
    pred: Sequence | np.ndarray,
    *,
    train_counts: Mapping[str, int] | None = None,
    head_min: int | None = None,
    tail_max: int | None = None,
    tiers: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per class present in gold: ``label, tier, train_count, support, precision,
    recall, f1`` — the rows whose F1 values average to ``macro_f1``.

    Tiers as in :func:`compute_metrics`. Sorted by training count (descending) then label.
    Without ``train_counts`` ``train_count`` is <NA>, the ``tier`` column is None (unless
    ``tiers`` is given), and rows are sorted by support then label.
    """
    pc = _per_class(gold, pred)
    labels = pc["labels"].tolist()
    tier_map = _tier_map(train_counts, head_min, tail_max, tiers)
    if train_counts is not None:
        counts = pd.array([int(train_counts.get(c, 0)) for c in labels], dtype="Int64")
    else:
        counts = pd.array([pd.NA] * len(labels), dtype="Int64")
    tiers = [tier_map.get(c, "tail") if tier_map is not None else None for c in labels]
    df = pd.DataFrame(
        {
            "label": labels,
            "tier": tiers,
            "train_count": counts,
            "support": pc["support"].astype(np.int64),
            "precision": pc["precision"],
            "recall": pc["recall"],
            "f1": pc["f1"],
        }
    )
    key = "train_count" if train_counts is not None else "support"
    df = df.sort_values([key, "label"], ascending=[False, True], kind="mergesort")
    return df.reset_index(drop=True)


def f1_histogram(per_class: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Count classes per F1 bin, with exact zeros in a bin of their own (the zero-F1 spike of a long tail).

    Rows: ``bin`` ("0" then "(0, 0.1]", ..., "(0.9, 1]" for ``bins=10``), ``low``, ``high``,
    ``n_classes``. The separate zero bin is the "spike at F1 = 0" that weighting shrinks.
    """
    f1 = per_class["f1"].to_numpy(dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = [{"bin": "0", "low": 0.0, "high": 0.0, "n_classes": int(np.sum(f1 == 0))}]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        n = int(np.sum((f1 > lo) & (f1 <= hi)))
        rows.append({"bin": f"({lo:.2g}, {hi:.2g}]", "low": lo, "high": hi, "n_classes": n})
    return pd.DataFrame(rows)

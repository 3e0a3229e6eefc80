"""Where a multi-label model goes wrong: missed and spurious labels, and labels confused.

A label set can be wrong two ways at once: a gold label missed (false negative) and a label
added that the text does not carry (spurious, false positive). When both happen in one text,
the spurious label most likely stood in for the missed one (``anger`` said where the text was
``annoyance``): :func:`confused_pairs` counts, over texts, each (missed, spurious) pair, the
multi-label counterpart of a confusion matrix's off-diagonal cells. A text with m missed and
s spurious labels adds 1 / (m·s) to each of its m·s pairs, so each text contributes at most one
confusion in total, however many labels it carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["confused_pairs", "confusion_sets", "missed_said_pairs", "set_error_summary"]


def confusion_sets(y: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """K x K texts: row = a gold label missed, column = a label said that the text lacks, the
    two in the same text (the label-set counterpart of a confusion matrix's off-diagonal)."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    missed, spurious = (y & ~pred).astype(np.int64), (pred & ~y).astype(np.int64)
    return pd.DataFrame(missed.T @ spurious, index=list(labels), columns=list(labels))


def missed_said_pairs(y: np.ndarray, pred: np.ndarray, labels: Sequence[str]):
    """Every (missed gold label, label said instead) pair of every text, as two lists."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    gold, said = [], []
    for row_y, row_p in zip(y, pred, strict=True):
        for m in np.flatnonzero(row_y & ~row_p):
            for s in np.flatnonzero(row_p & ~row_y):
                gold.append(labels[m])
                said.append(labels[s])
    return gold, said


def confused_pairs(
    y: np.ndarray, pred: np.ndarray, labels: Sequence[str], n: int = 10
) -> pd.DataFrame:
    """``missed, said_instead, weight, texts``: the n largest (missed, spurious) pairs.

    ``weight`` is the sum of 1 / (m·s) over the texts where the pair occurs, ``texts`` the
    number of such texts.
    """
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    missed, spurious = y & ~pred, pred & ~y
    k = len(labels)
    weight = np.zeros((k, k))
    texts = np.zeros((k, k), dtype=np.int64)
    rows = np.flatnonzero(missed.any(axis=1) & spurious.any(axis=1))
    for i in rows:
        m, s = np.flatnonzero(missed[i]), np.flatnonzero(spurious[i])
        weight[np.ix_(m, s)] += 1.0 / (len(m) * len(s))
        texts[np.ix_(m, s)] += 1
    g, p = np.nonzero(texts)
    table = pd.DataFrame({
        "missed": [labels[j] for j in g], "said_instead": [labels[j] for j in p],
        "weight": weight[g, p], "texts": texts[g, p],
    })  # fmt: skip
    table = table.sort_values(["weight", "missed", "said_instead"], ascending=[False, True, True])
    return table.head(n).reset_index(drop=True)


def set_error_summary(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """How texts go wrong: exact, only missing labels, only extra labels, both, or nothing
    predicted for a text that has labels; counts of missed and spurious label decisions."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    has_miss = (y & ~pred).any(axis=1)
    has_extra = (pred & ~y).any(axis=1)
    return {
        "texts": int(len(y)),
        "exact": int((~has_miss & ~has_extra).sum()),
        "only_missed": int((has_miss & ~has_extra).sum()),
        "only_spurious": int((~has_miss & has_extra).sum()),
        "missed_and_spurious": int((has_miss & has_extra).sum()),
        "nothing_predicted": int((~pred.any(axis=1) & y.any(axis=1)).sum()),
        "missed_labels": int((y & ~pred).sum()),
        "spurious_labels": int((pred & ~y).sum()),
    }

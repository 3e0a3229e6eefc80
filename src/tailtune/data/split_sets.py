"""A seeded split of multi-label data that stratifies label sets, safe for rare labels.

Iterative stratification (Sechidis, Tsoumakas & Vlahavas 2011, "On the Stratification of
Multi-Label Data", ECML PKDD) takes the label with the fewest examples left, deals its texts to
the part that still wants most of that label, and repeats; the maintained implementation in the
``iterative-stratification`` package (``iterstrat``) does the dealing. It keeps each label's
share close to the requested fractions, but on its own may send the single example of a label
to validation. So afterwards every label keeps at least one example in training: a held-out
text is moved back for each label left without one (the held-out text carrying fewest other
labels first), and the labels that needed it are reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tailtune.data.labelsets import indicator, parse_sets
from tailtune.data.split import SplitResult, resolve_count
from tailtune.errors import DataError

__all__ = ["split_sets"]


def split_sets(
    frame: pd.DataFrame,
    separator: str | None,
    *,
    val: float = 0.1,
    test: float = 0.0,
    seed: int = 42,
) -> SplitResult:
    """Split a frame of label sets into train/val/test (fractions in [0, 1) or counts).

    The algorithm deals labels, not rows, so each label's held-out share is close to the
    requested one while the held-out row counts are close to, not exactly, what was asked
    (4,316 validation rows for 10% of GoEmotions' 43,410); the report gives both. Rows keep their input order inside each part. The same ``seed`` gives the same split.
    """
    from iterstrat.ml_stratifiers import IterativeStratification

    n = len(frame)
    n_val, n_test = resolve_count(val, n, "val"), resolve_count(test, n, "test")
    if n_val + n_test >= n:
        raise DataError(
            f"split: cannot hold out {n_val + n_test} of {n} rows and keep training data"
        )
    sets = parse_sets(frame["label"], separator)
    y, classes = indicator(sets)
    shares = np.array([n - n_val - n_test, n_val, n_test], dtype=np.float64) / n
    part = np.zeros(n, dtype=np.int64)
    if n_val + n_test:
        part = IterativeStratification(
            labels=y.astype(bool), r=shares, random_state=np.random.RandomState(seed)
        )
    moved = _keep_one_in_train(y, part)
    train, val_f, test_f = (frame[part == k].reset_index(drop=True) for k in (0, 1, 2))
    return SplitResult(train=train, val=val_f, test=test_f,
                       report=_report(y, classes, part, seed, moved))  # fmt: skip


def _keep_one_in_train(y: np.ndarray, part: np.ndarray) -> list[int]:
    """Move a held-out text to train for each label with none there; the label indices moved."""
    moved = []
    order = np.argsort(y.sum(axis=0), kind="stable")  # rarest labels first
    for j in order:
        if y[part == 0, j].any() or not y[:, j].any():
            continue
        rows = np.flatnonzero((part != 0) & (y[:, j] == 1))
        best = rows[np.argmin(y[rows].sum(axis=1), kind="stable")]
        part[best] = 0
        moved.append(int(j))
    return moved


def _report(y, classes, part, seed, moved) -> dict[str, Any]:
    per = {k: y[part == k].sum(axis=0) for k in (0, 1, 2)}
    no_val = [classes[j] for j in np.flatnonzero(per[1] == 0)]
    total = y.sum(axis=0)
    rows = {"train": int((part == 0).sum()), "val": int((part == 1).sum()),
            "test": int((part == 2).sum())}  # fmt: skip
    n = max(len(part), 1)
    # how far each label's held-out share strays from the rows' held-out share
    val_share = per[1] / np.maximum(total, 1)
    return {
        "seed": seed,
        "stratify": "iterative (Sechidis et al. 2011)",
        "rows": rows,
        "labels": len(classes),
        "moved_to_train": [classes[j] for j in moved],
        "labels_without_val": len(no_val),
        "labels_without_val_first": no_val[:20],
        "val_share_spread": {
            "rows": rows["val"] / n,
            "labels_min": float(val_share.min()) if len(classes) else 0.0,
            "labels_max": float(val_share.max()) if len(classes) else 0.0,
        },
        "train_label_counts": dict(
            sorted(
                ((c, int(k)) for c, k in zip(classes, per[0], strict=True)),
                key=lambda kv: (-kv[1], kv[0]),
            )
        ),  # fmt: skip
    }

"""Learning-curve points: per-class validation F1 of every fraction run, and their resamples.

Every fraction run predicts the same validation rows in the same order, so one set of stratified
bootstrap indices (``tailtune.evaluation._bootstrap``, Efron & Tibshirani 1993) resamples all runs
at once, paired: a resample changes which validation examples each class happened to get, the
same way for every point of its curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tailtune.errors import DataError
from tailtune.evaluation._bootstrap import stratified_indices
from tailtune.runs import read_run

__all__ = ["Points", "collect_points", "per_class_f1"]


@dataclass
class Points:
    """What the curves are fitted to.

    ``classes`` are the labels present in the validation gold labels (the macro average's
    classes, sorted); ``runs`` is a list of (fraction, seed); ``counts[r, k]`` is class k's
    training count in run r; ``preds[r]`` the run's predicted codes (-1: a class absent from
    validation) for validation rows ``gold``.
    """

    classes: list[str]
    gold: np.ndarray
    runs: list[tuple[float, int]]
    counts: np.ndarray  # (R, K) int
    preds: np.ndarray  # (R, n_val) int
    run_dirs: list[Path]

    @property
    def support(self) -> np.ndarray:
        """Validation examples per class."""
        return np.bincount(self.gold, minlength=len(self.classes))

    def f1(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Per-class F1 of every run: ``(R, K)``, or ``(B, R, K)`` for resample indices ``idx``."""
        k = len(self.classes)
        if idx is None:
            return np.stack([per_class_f1(self.gold, p, k) for p in self.preds])
        return np.stack([per_class_f1(self.gold, p, k, idx) for p in self.preds], axis=1)

    def resample(self, n_boot: int, seed: int = 0) -> np.ndarray:
        """Stratified bootstrap indices ``(n_boot, n_val)`` shared by all runs (paired)."""
        return stratified_indices(self.gold, n_boot, seed)


def per_class_f1(gold, pred, n_classes: int, idx: np.ndarray | None = None) -> np.ndarray:
    """F1_k = 2·TP_k / (gold_k + predicted_k) per gold class k (0 when both are 0).

    The same per-class F1 as ``tailtune.evaluation.compute_metrics``; predictions coded -1 (a
    class absent from validation) are false negatives of their gold class only. With ``idx``
    (``(B, n)`` resample indices) returns ``(B, K)``, one row per resample.
    """
    gold, pred = np.asarray(gold), np.asarray(pred)
    if idx is None:
        idx = np.arange(len(gold))[None, :]
        squeeze = True
    else:
        squeeze = False
    g, p = gold[idx], pred[idx]
    b = len(idx)
    off = (np.arange(b, dtype=np.int64) * n_classes)[:, None]
    size = b * n_classes
    tp = np.bincount((g + off)[g == p], minlength=size).reshape(b, n_classes)
    n_gold = np.bincount((g + off).ravel(), minlength=size).reshape(b, n_classes)
    ok = p >= 0
    n_pred = np.bincount((p + off)[ok], minlength=size).reshape(b, n_classes)
    denom = n_gold + n_pred
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)
    return f1[0] if squeeze else f1


def collect_points(run_dirs: dict[tuple[float, int], Path]) -> Points:
    """Read every fraction run's validation predictions and training counts."""
    if not run_dirs:
        raise DataError("advise: no finished learning-curve runs to fit (all of them failed?)")
    keys = sorted(run_dirs)
    frames, counts = [], []
    for key in keys:
        run = read_run(run_dirs[key])
        frames.append(run.split_predictions("val"))
        counts.append({str(k): int(v) for k, v in run.labels.get("train_counts", {}).items()})
    gold_labels = frames[0]["gold"].to_numpy(dtype=str)
    for key, frame in zip(keys, frames, strict=True):
        if not np.array_equal(frame["gold"].to_numpy(dtype=str), gold_labels):
            raise DataError(
                f"{run_dirs[key]}: its validation rows differ from {run_dirs[keys[0]]}; "
                "learning-curve runs must share one validation file"
            )
    classes = sorted(set(gold_labels))
    code = {c: i for i, c in enumerate(classes)}
    gold = np.array([code[g] for g in gold_labels], dtype=np.int64)
    preds = np.array([[code.get(p, -1) for p in f["pred"].astype(str)] for f in frames])
    cnt = np.array([[c.get(name, 0) for name in classes] for c in counts], dtype=np.int64)
    return Points(classes, gold, keys, cnt, preds.astype(np.int64),
                  [Path(run_dirs[k]) for k in keys])  # fmt: skip

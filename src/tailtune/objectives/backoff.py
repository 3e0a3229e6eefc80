"""Back-off: answer a hierarchical prediction at the deepest level the model is sure of.

A hierarchical prediction is a consistent path with one probability per level (the probability
of its node at that level, which never grows with depth: :mod:`tailtune.data.hierarchy_proba`).
With one threshold ``t_d`` per level, the answer is the path cut at the deepest level ``d`` such
that every level ``1..d`` clears its threshold; when the top level fails the answer is
"unknown" (the empty path). Cutting at the first level that fails, rather than at the deepest
level that clears, keeps an answer from claiming a coarse level the model is unsure of. A
coarser answer when the fine one is unsure is selective classification per level: trade
coverage for precision (Geifman & El-Yaniv 2017).

Thresholds are given, or chosen on validation for a target precision per level
(:func:`choose_thresholds`): from the top level down, among the validation rows still answered
at the level above, the lowest threshold whose answered rows reach the target precision at this
level, i.e. the largest coverage that meets the target on validation. When no threshold meets
it, the level is never answered (threshold ``None``). Precision measured on few validation rows
is noisy, so the target is met on validation, not promised on new data: score the rule on a
test split (``tailtune.evaluation.hierarchy.backoff_table``).

Geifman, Y. and El-Yaniv, R. (2017). Selective classification for deep neural networks. NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tailtune.errors import DataError

__all__ = ["BackoffRule", "backoff_depths", "choose_thresholds"]

Path = tuple[str, ...]


@dataclass(frozen=True)
class BackoffRule:
    """Per-level thresholds (``None``: never answer at that level), top level first.

    ``target_precision`` records the targets the thresholds were chosen for (None when given by
    hand); ``levels`` names the levels. Saved with the model as JSON (:meth:`to_dict`).
    """

    thresholds: tuple[float | None, ...]
    target_precision: tuple[float, ...] | None = None
    levels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for t in self.thresholds:
            if t is not None and not 0.0 <= t <= 1.0:
                raise ValueError(f"thresholds must be in [0, 1] or None, got {t}")
        if self.levels is not None and len(self.levels) != len(self.thresholds):
            raise ValueError(f"{len(self.thresholds)} thresholds for {len(self.levels)} levels")

    def depths(self, path_proba: np.ndarray) -> np.ndarray:
        """How many levels of each row's path are answered (0 = unknown)."""
        return backoff_depths(path_proba, self.thresholds)

    def apply(self, paths: Sequence[Path], path_proba: np.ndarray) -> list[Path]:
        """Each path cut to its answered levels (``()`` = unknown)."""
        return [tuple(p)[:k] for p, k in zip(paths, self.depths(path_proba), strict=True)]

    def to_dict(self) -> dict:
        """JSON-ready: ``{"rule": "backoff", "thresholds", "target_precision", "levels"}``."""
        return {
            "rule": "backoff",
            "thresholds": list(self.thresholds),
            "target_precision": None
            if self.target_precision is None
            else list(self.target_precision),
            "levels": None if self.levels is None else list(self.levels),
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "decision rule") -> BackoffRule:
        """The inverse of :meth:`to_dict`; a malformed record is a DataError naming ``where``."""
        if not isinstance(data, dict) or data.get("rule") != "backoff":
            raise DataError(f"{where}: expected an object with rule 'backoff'")
        try:
            return cls(
                thresholds=tuple(None if t is None else float(t) for t in data["thresholds"]),
                target_precision=_opt_tuple(data.get("target_precision"), float),
                levels=_opt_tuple(data.get("levels"), str),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{where}: bad back-off thresholds ({exc})") from None


def backoff_depths(path_proba: np.ndarray, thresholds: Sequence[float | None]) -> np.ndarray:
    """Per row, the number of leading levels whose probability clears its threshold.

    ``path_proba`` is ``(n, depth)`` with NaN below the end of a path (a level a path does not
    reach is never answered); a ``None`` threshold is never cleared. Counting stops at the first
    level that fails.
    """
    p = np.asarray(path_proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(thresholds):
        raise ValueError(f"path_proba must be (n, {len(thresholds)}), got {p.shape}")
    t = np.array([np.inf if x is None else x for x in thresholds], dtype=np.float64)
    clears = np.nan_to_num(p, nan=-np.inf) >= t[None, :]
    return np.cumprod(clears, axis=1).sum(axis=1).astype(int)


def choose_thresholds(
    gold: Sequence[Path],
    paths: Sequence[Path],
    path_proba: np.ndarray,
    target_precision: float | Sequence[float],
    levels: Sequence[str] | None = None,
) -> BackoffRule:
    """Thresholds that meet ``target_precision`` (one for every level, or one per level) on
    validation rows with the largest coverage, chosen level by level from the top (module
    docstring). ``gold`` and ``paths`` are the rows' gold and predicted paths; a row is correct at
    level d when both reach d and agree on their first d names.
    """
    p = np.asarray(path_proba, dtype=np.float64)
    depth = p.shape[1]
    targets = _targets(target_precision, depth)
    if not len(gold) == len(paths) == p.shape[0]:
        raise ValueError("gold, paths and path_proba must have one row each per example")
    eligible = np.ones(p.shape[0], dtype=bool)
    thresholds: list[float | None] = []
    for d in range(depth):
        correct = np.array(
            [_agree(g, q, d + 1) for g, q in zip(gold, paths, strict=True)], dtype=bool
        )
        ok = eligible & np.isfinite(p[:, d])
        t = _lowest_threshold(p[ok, d], correct[ok], targets[d])
        thresholds.append(t)
        eligible = ok & (p[:, d] >= t) if t is not None else np.zeros_like(eligible)
    return BackoffRule(tuple(thresholds), tuple(targets), None if levels is None else tuple(levels))


def _lowest_threshold(p: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """The lowest observed probability t such that rows with p >= t have precision >= target."""
    if p.size == 0:
        return None
    order = np.argsort(-p, kind="stable")
    ps, hits = p[order], np.cumsum(correct[order])
    ends = np.flatnonzero(np.append(ps[1:] != ps[:-1], True))  # last row of each tied group
    precision = hits[ends] / (ends + 1)
    valid = np.flatnonzero(precision >= target - 1e-12)
    return None if valid.size == 0 else float(ps[ends[valid[-1]]])


def _agree(gold: Path, pred: Path, depth: int) -> bool:
    """Both paths reach ``depth`` and name the same node there."""
    return len(gold) >= depth and len(pred) >= depth and gold[:depth] == pred[:depth]


def _targets(target: float | Sequence[float], depth: int) -> list[float]:
    out = [float(target)] * depth if np.isscalar(target) else [float(x) for x in target]
    if len(out) != depth:
        raise ValueError(f"{len(out)} target precisions for {depth} levels")
    for x in out:
        if math.isnan(x) or not 0.0 < x <= 1.0:
            raise ValueError(f"target precision must be in (0, 1], got {x}")
    return out


def _opt_tuple(values, kind):
    return None if values is None else tuple(kind(v) for v in values)

"""Decision rules for label sets: per-label thresholds tuned on validation, top-k, at-least-one.

A multi-label model scores every label independently (one sigmoid each); the label set is the
labels whose score clears a threshold. A fixed 0.5 suits a calibrated, balanced label: on a
long tail it predicts the rare labels almost never (their scores seldom reach 0.5), and a model
trained with ASL or the DB loss moves where scores cross it. So the threshold is chosen per
label on validation, maximizing that label's F1, as in Lipton, Elkan & Naryanaswamy 2014
("Optimal Thresholding of Classifiers to Maximize F1 Measure").

A label with three validation positives gets a threshold fitted to three texts, which overfits.
So each label's best threshold t_j* is shrunk towards one global threshold t_g (the single
threshold maximizing validation macro F1): t_j = (n_j t_j* + k t_g) / (n_j + k) with n_j the
label's validation positives and k = ``shrink`` — the credibility weight n / (n + k) of
Bühlmann 1967 ("Experience Rating and Credibility"), the same form as the empirical-Bayes
shrinkage of a small group's mean. A label with no validation positive takes t_g.

:class:`SetRule` is the saved rule (thresholds per label, top-k cap, at-least-one); it
serializes to a plain dict, so predict, serve and every export apply the same one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["DEFAULT_GRID", "SetRule", "best_thresholds", "tune_set_rule"]

DEFAULT_GRID = tuple(round(0.01 * i, 2) for i in range(1, 100))
"""Thresholds tried: 0.01, 0.02, ..., 0.99."""


@dataclass
class SetRule:
    """Which labels a text gets from its per-label scores.

    ``thresholds[j]`` applies to ``labels[j]``; ``top_k`` (None = no cap) keeps at most k of
    the labels that clear their thresholds (the k with the largest margin p − t);
    ``at_least_one`` gives a text whose scores clear no threshold its largest-margin label.
    ``global_threshold`` and ``shrink`` record how the thresholds were tuned.
    """

    labels: list[str]
    thresholds: list[float]
    top_k: int | None = None
    at_least_one: bool = False
    global_threshold: float = 0.5
    shrink: float = 0.0
    tuned: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fixed(cls, labels: Sequence[str], threshold: float = 0.5, **kw: Any) -> SetRule:
        """One threshold for every label (0.5: what a sigmoid head does untuned)."""
        return cls(list(labels), [float(threshold)] * len(labels), global_threshold=threshold,
                   **kw)  # fmt: skip

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """The 0/1 matrix (texts × labels) of the predicted label sets."""
        p = np.asarray(scores, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != len(self.thresholds):
            raise ValueError(f"scores of shape {p.shape} for {len(self.thresholds)} labels")
        margin = p - np.asarray(self.thresholds)[None, :]
        pred = margin >= 0
        if self.top_k is not None:
            # rank of each label's margin within its row; keep the k largest that cleared
            order = np.argsort(-margin, axis=1, kind="stable")
            rank = np.empty_like(order)
            np.put_along_axis(rank, order, np.arange(p.shape[1])[None, :], axis=1)
            pred &= rank < self.top_k
        if self.at_least_one and p.shape[1]:
            empty = ~pred.any(axis=1)
            pred[np.flatnonzero(empty), margin[empty].argmax(axis=1)] = True
        return pred.astype(np.uint8)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields (for backend.json, exports and the HF config)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SetRule:
        """The inverse of :meth:`to_dict`."""
        return cls(**raw)


def best_thresholds(
    scores: np.ndarray, y: np.ndarray, grid: Sequence[float] = DEFAULT_GRID
) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the grid threshold with the best F1 on (scores, y), and that F1.

    Ties go to the smallest threshold (fewest missed positives). A label with no positive
    scores F1 0 at every threshold; its entry is then meaningless (callers use t_g).
    """
    t = np.asarray(grid, dtype=np.float64)
    f1 = _f1_grid(scores, y, t)
    best = f1.argmax(axis=0)
    return t[best], f1[best, np.arange(f1.shape[1])]


def _f1_grid(scores: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """F1 of every label (columns) at every threshold (rows): 2·TP / (predicted + positives)."""
    p, y = np.asarray(scores, dtype=np.float64), np.asarray(y).astype(bool)
    out = np.empty((len(t), p.shape[1]))
    for i, ti in enumerate(t):  # one threshold at a time keeps memory at N x K
        pred = p >= ti
        out[i] = 2.0 * (pred & y).sum(axis=0) / (pred.sum(axis=0) + y.sum(axis=0)).clip(min=1)
    return out


def tune_set_rule(
    scores: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    *,
    shrink: float = 10.0,
    grid: Sequence[float] = DEFAULT_GRID,
    top_k: int | None = None,
    at_least_one: bool = False,
) -> SetRule:
    """Tune per-label thresholds on validation scores ``scores`` and gold ``y`` (module doc).

    The global threshold t_g maximizes validation macro F1 over the labels with a validation
    positive; ``shrink`` = k (0 = no shrinkage, each label keeps its own best threshold).
    """
    if shrink < 0:
        raise ValueError(f"shrink must be 0 or more, got {shrink}")
    n_pos = np.asarray(y).astype(bool).sum(axis=0)
    present = n_pos > 0
    t = np.asarray(grid, dtype=np.float64)
    f1 = _f1_grid(scores, y, t)
    macro = f1[:, present].mean(axis=1) if present.any() else np.zeros(len(t))
    t_g = float(t[macro.argmax()])
    own = t[f1.argmax(axis=0)]
    w = n_pos / (n_pos + shrink) if shrink else present.astype(float)
    chosen = np.where(present, w * own + (1 - w) * t_g, t_g)
    tuned = {"val_positives": n_pos.astype(int).tolist(), "own_best": own.tolist(),
             "global_macro_f1": float(macro.max())}  # fmt: skip
    return SetRule(list(labels), [round(float(x), 4) for x in chosen], top_k=top_k,
                   at_least_one=at_least_one, global_threshold=t_g, shrink=float(shrink),
                   tuned=tuned)  # fmt: skip

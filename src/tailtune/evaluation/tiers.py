"""Frequency tiers by *training* count: head, mid, tail (seed 002's error-analysis grouping).

Defaults follow the seeds: head = at least 2,000 training examples, tail = fewer than 100,
mid = in between. Tiers always come from training counts, never from evaluation support, so
that a class keeps its tier across validation, test and every run on the same split.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["TIERS", "assign_tiers", "tier_of", "tier_summary"]

TIERS = ("head", "mid", "tail")


def assign_tiers(
    train_counts: Mapping[str, int], head_min: int = 2000, tail_max: int = 100
) -> dict[str, str]:
    """Map each label to ``"head"`` (count ≥ head_min), ``"tail"`` (< tail_max) or ``"mid"``."""
    _check_bounds(head_min, tail_max)
    return {label: tier_of(n, head_min, tail_max) for label, n in train_counts.items()}


def tier_of(count: int, head_min: int = 2000, tail_max: int = 100) -> str:
    """The tier of one training count (a class unseen in training, count 0, is tail)."""
    if count >= head_min:
        return "head"
    return "tail" if count < tail_max else "mid"


def _check_bounds(head_min: int, tail_max: int) -> None:
    """Tail must sit below head, else a class could be both."""
    if tail_max > head_min:
        raise ValueError(f"tail_max ({tail_max}) must not exceed head_min ({head_min})")


def tier_summary(tiers: list[str], f1: np.ndarray) -> dict[str, dict]:
    """``{tier: {n_classes, mean_f1, zero_f1}}`` for all three tiers, in head/mid/tail order.

    ``tiers[i]`` is the tier of the class whose F1 is ``f1[i]``. An empty tier reports
    ``n_classes = 0``, ``mean_f1 = None`` (JSON null: no classes, no mean) and ``zero_f1 = 0``.
    """
    tier_arr = np.asarray(tiers, dtype=object)
    f1 = np.asarray(f1, dtype=np.float64)
    out: dict[str, dict] = {}
    for tier in TIERS:
        sel = f1[tier_arr == tier]
        out[tier] = {
            "n_classes": int(sel.size),
            "mean_f1": float(sel.mean()) if sel.size else None,
            "zero_f1": int(np.sum(sel == 0.0)),
        }
    return out

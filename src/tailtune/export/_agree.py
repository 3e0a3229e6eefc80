"""How closely an exported model reproduces ``tailtune predict``."""

from __future__ import annotations

import numpy as np

__all__ = ["agreement"]


def agreement(reference: np.ndarray, got: np.ndarray, against: str, atol: float, rule=None,
              got_sets: np.ndarray | None = None) -> dict:  # fmt: skip
    """Top-1 agreement and the largest probability difference between two (n, K) arrays; with
    a label-set ``rule`` (:class:`tailtune.objectives.thresholds.SetRule`) also the share of
    texts whose label sets agree, which ``within_tolerance`` then requires to be 1. The sets
    compared are the rule applied to ``got``, or ``got_sets`` (0/1, texts × labels) when the
    export decides them itself (its thresholds inside the exported model)."""
    n = len(reference)
    if n == 0:
        return {"against": against, "n": 0, "top1_agreement": None, "max_abs_diff": None}
    same = float((reference.argmax(1) == got.argmax(1)).mean())
    diff = float(np.abs(reference - got).max())
    out = {
        "against": against,
        "n": n,
        "top1_agreement": round(same, 6),
        "max_abs_diff": diff,
        "tolerance": atol,
        "within_tolerance": bool(diff <= atol and same == 1.0),
    }
    if rule is not None:
        mine = rule.apply(got) if got_sets is None else np.asarray(got_sets).astype(np.uint8)
        sets = float((rule.apply(reference) == mine).all(axis=1).mean())
        out["label_set_agreement"] = round(sets, 6)
        out["within_tolerance"] = bool(out["within_tolerance"] and sets == 1.0)
    return out

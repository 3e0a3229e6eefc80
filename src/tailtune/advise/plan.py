"""Turn fitted curves into a labelling plan with intervals, and price the naive alternatives.

The plan's interval is a prediction interval for the gain a retrained run will show, from two
sources: (1) the curves' uncertainty, the same allocation's gain under every bootstrap replicate
of the curves (validation rows and seeds resampled, :mod:`tailtune.advise.fit`), re-centred on
the point estimate (the replicates are grid fits, only their spread is used); (2) the seed
spread, the run-to-run noise of which examples get labelled (:func:`.fit.seed_spread`, the
spread of the runs around the curves), added to each replicate as a normal draw. The interval is the percentile interval of the sum
(Efron & Tibshirani 1993, §13.3, via ``tailtune.evaluation._bootstrap``).
"""

from __future__ import annotations

import numpy as np

from tailtune.advise.allocate import allocation_gain, curve_gain, greedy_allocation
from tailtune.advise.fit import ClassCurve
from tailtune.evaluation._bootstrap import percentile_ci

__all__ = ["build_plan", "naive_allocations", "price_allocation"]


def _arrays(curves: list[ClassCurve]):
    n = np.array([cv.n_train for cv in curves], dtype=float)
    ok = np.array([cv.curve is not None for cv in curves])
    abc = np.array([[cv.curve.a, cv.curve.b, cv.curve.c] if cv.curve else [0, 0, 0]
                    for cv in curves])  # fmt: skip
    n_boot = max((len(cv.boot) for cv in curves if cv.boot is not None), default=0)
    boot = np.zeros((n_boot, len(curves), 3))
    for k, cv in enumerate(curves):
        if cv.boot is not None:
            boot[:, k] = cv.boot
    return n, ok, abc, boot


def _interval(point: float, samples: np.ndarray, noise_sd: float, level: float, seed: int):
    rng = np.random.default_rng(seed)
    spread = samples - np.median(samples) + point
    return percentile_ci(spread + rng.normal(0.0, noise_sd, size=len(samples)), level)


def price_allocation(
    curves: list[ClassCurve], x, level: float = 0.95, noise_sd: float = 0.0, seed: int = 0
) -> dict:
    """Predicted macro F1 gain of allocation ``x`` (one count per curve) with its interval;
    ``noise_sd`` is the seed spread of macro F1 (:func:`.fit.seed_spread`)."""
    n, ok, abc, boot = _arrays(curves)
    x = np.where(ok, np.asarray(x, dtype=float), 0.0)  # a class without any curve: no gain
    k = len(curves)
    gain = float(allocation_gain(abc[:, 0], abc[:, 1], abc[:, 2], n, x, k))
    out = {"predicted_gain": round(gain, 5), "low": None, "high": None}
    if len(boot):
        samples = allocation_gain(boot[..., 0], boot[..., 1], boot[..., 2], n, x, k)
        lo, hi = _interval(gain, samples, noise_sd, level, seed)
        out.update(low=round(lo, 5), high=round(hi, 5))
    return out


def build_plan(
    curves: list[ClassCurve], budget: int, *, caps=None, level: float = 0.95, noise_sd: float = 0.0
) -> dict:
    """The greedy plan for ``budget`` new examples: totals, then one row per class that gets any.

    ``caps`` (label -> int) bounds what each class can get (an unlabelled pool's contents).
    Each row: ``label, tier, n_train, add, f1_now, f1_after, gain, low, high`` where ``gain`` is
    the class's own predicted F1 change (its share of the macro gain is gain / K).
    ``noise_sd`` is the seed spread of macro F1, each class's own is on its curve.
    """
    n, ok, abc, boot = _arrays(curves)
    cap_arr = None
    if caps is not None:
        cap_arr = np.array([caps.get(cv.label, 0) for cv in curves], dtype=float)
    x = greedy_allocation(abc[:, 0], abc[:, 1], abc[:, 2], n, budget, caps=cap_arr, eligible=ok)
    total = price_allocation(curves, x, level, noise_sd)
    rows = []
    for k in np.argsort(-x, kind="stable"):
        if x[k] == 0:
            break
        cv = curves[k]
        g = float(curve_gain(*abc[k], n[k], x[k]))
        row = {"label": cv.label, "tier": cv.tier, "n_train": cv.n_train, "add": int(x[k]),
               "curve": cv.curve.kind, "f1_now": round(float(cv.curve.predict(n[k])), 4),
               "f1_after": round(float(cv.curve.predict(n[k] + x[k])), 4), "gain": round(g, 4),
               "low": None, "high": None,
               "extrapolation": round(float((n[k] + x[k]) / max(n[k], 1)), 2)}  # fmt: skip
        if len(boot):
            samples = curve_gain(boot[:, k, 0], boot[:, k, 1], boot[:, k, 2], n[k], x[k])
            lo, hi = _interval(g, samples, cv.seed_sd, level, seed=k + 1)
            row.update(low=round(lo, 4), high=round(hi, 4))
        rows.append(row)
    return {"budget": int(budget), "spent": int(x.sum()), "level": level, **total,
            "allocations": rows, "_x": x}  # fmt: skip


def naive_allocations(n_train, budget: int, caps=None) -> dict[str, np.ndarray]:
    """What a team would otherwise do: ``uniform`` (the same number per class),
    ``proportional`` (to training frequency), ``rarest`` (all to the rarest class, then the
    next rarest once a cap is reached). ``caps`` bound each class; what a capped class cannot
    take is shared among the others by the same rule."""
    n = np.asarray(n_train, dtype=float)
    caps = np.full(len(n), np.inf) if caps is None else np.asarray(caps, dtype=float)
    out = {"uniform": _fill(np.ones(len(n)), budget, caps),
           "proportional": _fill(n, budget, caps)}  # fmt: skip
    x = np.zeros(len(n), dtype=np.int64)
    left = int(budget)
    for k in np.lexsort((np.arange(len(n)), n)):  # rarest first, ties by position
        take = int(min(left, caps[k]))
        x[k], left = take, left - take
        if left == 0:
            break
    out["rarest"] = x
    return out


def _fill(weights: np.ndarray, budget: int, caps: np.ndarray) -> np.ndarray:
    """Share ``budget`` in proportion to ``weights`` (largest remainder), capped, refilling."""
    x = np.zeros(len(weights), dtype=np.int64)
    left = int(budget)
    while left > 0:
        open_ = (x < caps) & (weights > 0)
        if not open_.any():
            break
        w = np.where(open_, weights, 0.0)
        share = left * w / w.sum()
        add = np.floor(share).astype(np.int64)
        rest = left - int(add.sum())
        if rest:  # largest remainders get the last examples
            order = np.argsort(-(share - add), kind="stable")
            add[order[:rest]] += 1
        room = np.where(np.isfinite(caps), np.maximum(caps - x, 0), 2**40).astype(np.int64)
        add = np.minimum(add, room)
        if add.sum() == 0:
            break
        x += add
        left -= int(add.sum())
    return x

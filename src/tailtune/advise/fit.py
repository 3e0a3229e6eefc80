"""Fit every measurable class's learning curve, and the bootstrap replicates behind its interval.

A class with at least ``min_distinct`` distinct training counts across the fraction runs gets its
own three-parameter curve; a class with fewer (one or two training examples make the fractions
collapse onto the same counts) borrows its tier's exponent, fitted jointly over the tier's
classes (:func:`tailtune.advise.curves.fit_shared_c`). Classes with ``few`` or fewer validation
examples are not fitted: their F1 moves in steps of 1/support, and a curve through such points
would extrapolate noise (they are reported as unmeasurable instead).

Uncertainty: each bootstrap replicate resamples the validation rows (stratified, paired across
runs) AND the seeds (with replacement, as weights), then refits every curve, so the replicates
carry both the seed spread and the validation sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailtune.advise.curves import CurveFit, best_grid_fits, fit_power_law, fit_shared_c, fit_with_c
from tailtune.advise.points import Points

__all__ = ["ClassCurve", "fit_curves", "seed_spread"]


@dataclass
class ClassCurve:
    """One class: its points, its fitted curve and the bootstrap replicates of (a, b, c)."""

    label: str
    tier: str
    support: int  # validation examples
    n_train: int  # training examples in the full training split
    counts: np.ndarray  # (R,) training count in each fraction run
    f1: np.ndarray  # (R,) validation F1 in each fraction run
    seeds: np.ndarray  # (R,) the run's seed
    fit: CurveFit | None = None  # None: unmeasurable
    boot: np.ndarray | None = None  # (B, 3): a, b, c per replicate
    seed_sd: float = 0.0  # F1 spread over seeds at the largest fraction below 1 (see seed_spread)

    @property
    def measurable(self) -> bool:
        return self.fit is not None


def fit_curves(
    points: Points,
    tiers: dict[str, str],
    *,
    few: int = 5,
    min_distinct: int = 4,
    n_boot: int = 200,
    seed: int = 0,
) -> list[ClassCurve]:
    """One :class:`ClassCurve` per validation class, in ``points.classes`` order."""
    f1 = points.f1()  # (R, K)
    idx = points.resample(n_boot, seed)
    f1_boot = points.f1(idx)  # (B, R, K)
    run_seeds = np.array([s for _, s in points.runs])
    weights = _seed_weights(run_seeds, n_boot, seed)  # (B, R)
    support = points.support
    curves = []
    for k, label in enumerate(points.classes):
        curves.append(ClassCurve(
            label=label, tier=tiers.get(label, "tail"), support=int(support[k]),
            n_train=int(points.counts[:, k].max()), counts=points.counts[:, k], f1=f1[:, k],
            seeds=run_seeds, seed_sd=float(seed_spread(points, f1[:, k])),
        ))  # fmt: skip
    measurable = [cv for cv in curves if cv.support > few]
    own = [cv for cv in measurable if len(np.unique(cv.counts)) >= min_distinct]
    for cv in own:
        cv.fit = fit_power_law(cv.counts, cv.f1)
    shared = {}
    for cv in measurable:
        if cv.fit is not None:
            continue
        if cv.tier not in shared:
            group = [(m.counts, m.f1) for m in measurable if m.tier == cv.tier]
            shared[cv.tier] = fit_shared_c(group)
        cv.fit = fit_with_c(cv.counts, cv.f1, shared[cv.tier])
    k_of = {label: k for k, label in enumerate(points.classes)}
    for cv in measurable:
        ys = f1_boot[:, :, k_of[cv.label]]
        if cv.fit.kind == "class":
            a, b, c = best_grid_fits(cv.counts, ys, weights)
        elif cv.fit.kind == "tier":
            c_tier = shared[cv.tier]
            a, b, c = best_grid_fits(cv.counts, ys, weights, [c_tier])
        else:  # flat: one distinct count, the level is all there is
            a = np.clip((ys * weights).sum(axis=1) / weights.sum(axis=1), 0.0, 1.0)
            b = c = np.zeros_like(a)
        cv.boot = np.stack([a, b, c], axis=1)
    return curves


def seed_spread(points: Points, values: np.ndarray) -> float:
    """Standard deviation over seeds of ``values`` (one per run) at the largest fraction below 1.

    Two seeds' runs there were trained on different draws of the same number of examples, so
    their spread is the run-to-run noise of "which examples were labelled": what a plan's new
    examples add on top of the curve's expected gain. 0 with one seed or no fraction below 1.
    """
    fracs = np.array([f for f, _ in points.runs])
    below = fracs[fracs < 1.0]
    if not len(below):
        return 0.0
    sel = np.asarray(values, dtype=float)[fracs == below.max()]
    return float(sel.std(ddof=1)) if len(sel) > 1 else 0.0


def _seed_weights(run_seeds: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Per replicate, each run's weight = how often its seed was drawn (seeds with replacement)."""
    uniq = np.unique(run_seeds)
    rng = np.random.default_rng(seed + 1)
    draws = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
    mult = np.stack([np.bincount(d, minlength=len(uniq)) for d in draws])  # (B, S)
    col = np.searchsorted(uniq, run_seeds)
    return mult[:, col].astype(float)

"""Fit every measurable class's learning curve, and the bootstrap replicates behind its interval.

A class with at least ``min_distinct`` distinct training counts across the fraction runs gets its
own three-parameter curve; a class with fewer (one or two training examples make the fractions
collapse onto the same counts) borrows its tier's exponent, fitted jointly over the tier's
classes (:func:`tailtune.advise.curves.fit_shared_c`). Classes with ``few`` or fewer validation
examples are not fitted: their F1 moves in steps of 1/support, and a curve through such points
would extrapolate noise (they are reported as unmeasurable instead). The plan still prices them,
with their tier's pooled curve (``prior``): one curve through the points of every class of the
tier, each point weighted by its class's validation support, so a handful of noisy classes
averages into what a typical class of that tier gains per example. Macro F1 counts these classes
like any other; leaving them out of the plan would leave out the cheapest gains of a long tail.

Uncertainty: each bootstrap replicate resamples the validation rows (stratified, paired across
runs) AND the seeds (with replacement, as weights), then refits every curve, so the replicates
carry both the seed spread and the validation sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tailtune.advise.curves import (
    C_GRID,
    CurveFit,
    best_grid_fits,
    fit_power_law,
    fit_shared_c,
    fit_with_c,
)
from tailtune.advise.points import Points

__all__ = ["ClassCurve", "fit_curves", "residuals", "seed_spread"]


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
    seed_sd: float = 0.0  # run-to-run spread of F1 around the curve (see seed_spread)
    prior: CurveFit | None = None  # unmeasurable classes: the tier's pooled curve

    @property
    def curve(self) -> CurveFit | None:
        """The curve the plan prices the class with: its own fit, else its tier's prior."""
        return self.fit or self.prior

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
            seeds=run_seeds,
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
    _tier_priors(curves, f1_boot, weights, k_of)
    seed_spread(curves)
    return curves


def _tier_priors(curves, f1_boot, weights, k_of) -> None:
    """Give each unmeasurable class its tier's pooled curve and its bootstrap replicates."""
    from tailtune.advise.curves import grid_fits

    for tier in sorted({cv.tier for cv in curves if cv.fit is None}):
        members = [cv for cv in curves if cv.tier == tier and cv.support > 0]
        if not members:
            continue
        n = np.concatenate([cv.counts for cv in members]).astype(float)
        y = np.concatenate([cv.f1 for cv in members])
        w = np.concatenate([np.full(len(cv.counts), float(cv.support)) for cv in members])
        if len(np.unique(n)) < 2:
            continue
        a, b, sse = grid_fits(n, y[None, :], w[None, :], C_GRID)
        i = int(np.argmin(sse[0]))
        prior = CurveFit(float(a[0, i]), float(b[0, i]), float(C_GRID[i]) if b[0, i] > 1e-9 else 0.0,
                         "tier prior", len(y), float(np.sqrt(sse[0, i] / w.sum())))  # fmt: skip
        ys = np.concatenate([f1_boot[:, :, k_of[cv.label]] for cv in members], axis=1)
        ws = np.concatenate([weights * cv.support for cv in members], axis=1)
        boot = np.stack(best_grid_fits(n, ys, ws), axis=1)
        for cv in curves:
            if cv.tier == tier and cv.fit is None:
                cv.prior, cv.boot = prior, boot


def residuals(curves: list[ClassCurve]) -> np.ndarray:
    """``(R, K)``: each run's F1 minus the class's curve at its count (0 for a class without one)."""
    cols = [cv.f1 - cv.curve.predict(cv.counts) if cv.curve else np.zeros(len(cv.f1))
            for cv in curves]  # fmt: skip
    return np.stack(cols, axis=1)


def seed_spread(curves: list[ClassCurve]) -> float:
    """Run-to-run noise of macro F1 around the curves: the standard deviation over runs of the
    mean residual (a class's constant offset from its curve cancels; what is left is how much
    a run moves with the draw of its examples and its seed). Sets each class's ``seed_sd`` to
    the same spread of its own residuals. The noise a plan's new examples add on top of the
    curves' expected gain; 0 with a single run.
    """
    res = residuals(curves)
    if len(res) < 2:
        return 0.0
    for k, cv in enumerate(curves):
        cv.seed_sd = float(res[:, k].std(ddof=1))
    return float(res.mean(axis=1).std(ddof=1))


def _seed_weights(run_seeds: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Per replicate, each run's weight = how often its seed was drawn (seeds with replacement)."""
    uniq = np.unique(run_seeds)
    rng = np.random.default_rng(seed + 1)
    draws = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
    mult = np.stack([np.bincount(d, minlength=len(uniq)) for d in draws])  # (B, S)
    col = np.searchsorted(uniq, run_seeds)
    return mult[:, col].astype(float)

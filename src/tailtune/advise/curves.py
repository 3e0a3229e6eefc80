"""Saturating learning curves: per-class F1 against training count, F1(n) = a − b·n^(−c).

The inverse power law is the learning-curve form of Figueroa et al. (2012, "Predicting sample
size required for classification performance", BMC Med. Inform. Decis. Mak. 12:8) and of
Hestness et al. (2017, "Deep learning scaling is predictable, empirically"), who find the
generalization error of a model falling as a power of the training-set size: here the error is
1 − F1 and ``a`` is the class's asymptotic F1. Constraints keep the curve meaningful:
0 ≤ a ≤ 1, b ≥ 0, c ≥ 0, so a fitted curve never falls as data grows and never promises an F1
above 1, and it is concave in n (each extra example is worth less than the one before), which is
what makes the greedy allocation in :mod:`tailtune.advise.allocate` optimal.

The fit profiles out ``c``: for a fixed exponent the model is linear in (a, b), solved exactly
under its box constraints (:func:`fit_fixed_c`); ``c`` is then chosen on a log grid and refined
with a bounded scalar search. There are no starting values to get wrong and no local minima in
(a, b). A class whose points are too few for three parameters borrows the exponent of its tier,
fitted jointly over that tier's classes (:func:`fit_shared_c`), and fits only (a, b).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "C_GRID", "CurveFit", "power_law", "fit_fixed_c", "fit_c_grid", "grid_fits", "best_grid_fits", "fit_power_law", "fit_shared_c", "fit_with_c",
]  # fmt: skip

# Exponents from nearly flat (0.02) to a curve that saturates within a few examples (3).
C_GRID = np.geomspace(0.02, 3.0, 60)
C_MAX = 3.0


@dataclass
class CurveFit:
    """A fitted curve F1(n) = a − b·n^(−c); ``kind`` says how ``c`` was obtained."""

    a: float
    b: float
    c: float
    kind: str  # "class" (own 3-parameter fit), "tier" (tier's shared c), "flat" (one count)
    n_points: int
    rmse: float

    def predict(self, n) -> np.ndarray:
        """The curve at training count(s) ``n`` (counts below 1 are taken as 1)."""
        return power_law(np.maximum(np.asarray(n, dtype=float), 1.0), self.a, self.b, self.c)

    def to_dict(self) -> dict:
        """Plain JSON-ready form."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def power_law(n, a: float, b: float, c: float) -> np.ndarray:
    """F1(n) = a − b·n^(−c) (Figueroa et al. 2012; Hestness et al. 2017)."""
    return a - b * np.asarray(n, dtype=float) ** (-c)


def fit_fixed_c(n, y, c: float) -> tuple[float, float, float]:
    """Least squares (a, b) for a fixed exponent ``c`` under 0 ≤ a ≤ 1, b ≥ 0; returns (a, b, SSE).

    With x = n^(−c) the model y = a − b·x is linear. A convex quadratic over a box has its
    minimum at the unconstrained solution when that is feasible, else on an edge: each edge's
    one-variable minimum is clipped to the edge and the feasible candidate with the least squared
    error wins, which is the exact constrained optimum.
    """
    a, b, sse = fit_c_grid(n, y, np.asarray([c], dtype=float))
    return float(a[0]), float(b[0]), float(sse[0])


def fit_c_grid(n, y, cs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`fit_fixed_c` for every exponent in ``cs`` at once: arrays (a, b, SSE), one per c."""
    a, b, sse = grid_fits(n, np.asarray(y, dtype=float)[None, :], None, cs)
    return a[0], b[0], sse[0]


def grid_fits(n, ys: np.ndarray, ws: np.ndarray | None, cs: np.ndarray):
    """Weighted constrained (a, b) fits of many point sets sharing the counts ``n``.

    ``ys`` and ``ws`` are ``(B, m)`` values and weights (a bootstrap's resampled F1 values and
    seed multiplicities), ``cs`` the ``G`` exponents; returns (a, b, SSE), each ``(B, G)``.
    Works on weighted sufficient statistics, so every candidate's SSE costs O(1):
    SSE = Σwy² − 2aΣwy + 2bΣwxy + a²Σw − 2abΣwx + b²Σwx².
    """
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    ys = np.asarray(ys, dtype=float)
    ws = np.ones_like(ys) if ws is None else np.asarray(ws, dtype=float)
    x = n[None, :] ** (-np.asarray(cs, dtype=float)[:, None])  # (G, m)
    sw = ws.sum(axis=1)[:, None]  # (B, 1)
    sx, sxx = ws @ x.T, ws @ (x * x).T  # (B, G)
    sxy = (ws * ys) @ x.T
    sy = (ws * ys).sum(axis=1)[:, None]
    syy = (ws * ys * ys).sum(axis=1)[:, None]
    var_x = sxx - sx * sx / sw
    ok = var_x > 1e-12
    b_free = np.divide(sx * sy / sw - sxy, var_x, out=np.zeros_like(sx), where=ok)
    a_free = (sy + b_free * sx) / sw
    zeros, ones = np.zeros_like(sx), np.ones_like(sx)
    safe = np.where(sxx > 0, sxx, 1.0)
    flat = np.broadcast_to(np.clip(sy / sw, 0.0, 1.0), sx.shape)
    cand_a = np.stack([a_free, flat, zeros, ones])
    cand_b = np.stack(
        [b_free, zeros, np.maximum(0.0, -sxy / safe), np.maximum(0.0, (sx - sxy) / safe)]
    )
    feasible = (cand_a >= -1e-12) & (cand_a <= 1 + 1e-12) & (cand_b >= -1e-12)
    feasible[0] &= ok
    a, b = np.clip(cand_a, 0.0, 1.0), np.maximum(cand_b, 0.0)
    sse = syy - 2 * a * sy + 2 * b * sxy + a * a * sw - 2 * a * b * sx + b * b * sxx
    sse = np.where(feasible, np.maximum(sse, 0.0), np.inf)
    pick = np.argmin(sse, axis=0)[None]
    take = lambda arr: np.take_along_axis(arr, pick, axis=0)[0]  # noqa: E731
    return take(a), take(b), take(sse)


def best_grid_fits(n, ys, ws, cs=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, c) per point set, ``c`` the best of ``cs`` (default :data:`C_GRID`): ``(B,)`` each.

    A fit with b = 0 reports c = 0 (a flat curve has no exponent).
    """
    cs = C_GRID if cs is None else np.asarray(cs, dtype=float)
    a, b, sse = grid_fits(n, ys, ws, cs)
    i = np.argmin(sse, axis=1)
    rows = np.arange(len(i))
    a, b, c = a[rows, i], b[rows, i], cs[i]
    return a, b, np.where(b > 1e-9, c, 0.0)


def fit_power_law(n, y, *, refine: bool = True) -> CurveFit:
    """Fit a, b and c to points (n_i, y_i): ``c`` on a log grid, refined by bounded search.

    With fewer than two distinct counts the curve cannot bend: a flat line at the mean
    (``kind="flat"``) is returned. ``refine=False`` keeps the best grid exponent (the bootstrap
    refits thousands of curves).
    """
    from scipy.optimize import minimize_scalar

    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(np.unique(n)) < 2:
        a = float(np.clip(y.mean(), 0.0, 1.0))
        return CurveFit(a, 0.0, 0.0, "flat", len(y), _rmse(y, a))
    sse = fit_c_grid(n, y, C_GRID)[2]
    i = int(np.argmin(sse))
    if not refine:
        a, b, err = fit_c_grid(n, y, C_GRID[i : i + 1])
        c = float(C_GRID[i]) if b[0] > 1e-9 else 0.0
        return CurveFit(
            float(a[0]), float(b[0]), c, "class", len(y), float(np.sqrt(err[0] / len(y)))
        )
    lo, hi = C_GRID[max(i - 1, 0)], C_GRID[min(i + 1, len(C_GRID) - 1)]
    res = minimize_scalar(
        lambda c: fit_fixed_c(n, y, c)[2], bounds=(lo, hi), method="bounded",
        options={"xatol": 1e-4},
    )  # fmt: skip
    c = float(res.x) if res.fun <= sse[i] else float(C_GRID[i])
    a, b, err = fit_fixed_c(n, y, c)
    if b <= 1e-9:  # flat: the exponent is not identified; say so with c = 0
        c = 0.0
    return CurveFit(a, b, c, "class", len(y), float(np.sqrt(err / len(y))))


def fit_shared_c(groups: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The exponent c that minimizes the summed squared error of (a, b) fits over ``groups``.

    Each group is one class's (counts, F1 values); classes share the curve's shape but keep
    their own level and scale (a partial pooling of the learning-curve form).
    """
    usable = [(n, y) for n, y in groups if len(np.unique(n)) >= 2]
    if not usable:
        return 0.5  # no class in the tier bends: any c gives a flat fit (b = 0)
    total = sum(fit_c_grid(n, y, C_GRID)[2] for n, y in usable)
    return float(C_GRID[int(np.argmin(total))])


def fit_with_c(n, y, c: float) -> CurveFit:
    """(a, b) for a given (tier) exponent; flat when the class has a single distinct count."""
    n = np.asarray(n, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(np.unique(n)) < 2:
        a = float(np.clip(y.mean(), 0.0, 1.0))
        return CurveFit(a, 0.0, 0.0, "flat", len(y), _rmse(y, a))
    a, b, err = fit_fixed_c(n, y, c)
    return CurveFit(a, b, c if b > 1e-9 else 0.0, "tier", len(y), float(np.sqrt(err / len(y))))


def _rmse(y: np.ndarray, a: float) -> float:
    return float(np.sqrt(np.mean((y - a) ** 2)))

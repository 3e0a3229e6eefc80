"""Learning-curve fits: known parameters recovered, constraints exact, pooling by tier."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.advise.curves import fit_fixed_c, fit_power_law, fit_shared_c, power_law

pytestmark = pytest.mark.unit


def test_fit_recovers_known_parameters_from_noisy_points():
    n = np.repeat([20, 40, 60, 80, 160, 320], 3).astype(float)
    rng = np.random.default_rng(0)
    y = power_law(n, 0.8, 1.5, 0.6) + rng.normal(0, 0.003, len(n))
    fit = fit_power_law(n, y)
    assert fit.kind == "class"
    assert fit.a == pytest.approx(0.8, abs=0.02)
    assert fit.b == pytest.approx(1.5, rel=0.15)
    assert fit.c == pytest.approx(0.6, abs=0.06)
    assert fit.rmse < 0.005


def test_fit_is_exact_on_noiseless_points():
    n = np.array([10, 25, 50, 100, 200], dtype=float)
    fit = fit_power_law(n, power_law(n, 0.9, 2.0, 0.5))
    assert (fit.a, fit.b, fit.c) == pytest.approx((0.9, 2.0, 0.5), abs=1e-3)
    assert float(fit.predict(400)) == pytest.approx(0.9 - 2.0 * 400**-0.5, abs=1e-3)


def test_fixed_c_matches_a_bounded_least_squares_solver():
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(3)
    for _ in range(30):
        n = rng.integers(1, 300, size=8).astype(float)
        y = rng.uniform(-0.2, 1.3, size=8)  # outside [0, 1] too: constraints must bind
        c = float(rng.uniform(0.05, 2.0))
        a, b, sse = fit_fixed_c(n, y, c)
        # y = a*1 + b*(-x): variables (a, b) with 0 <= a <= 1, b >= 0
        design = np.stack([np.ones_like(n), -(n**-c)], axis=1)
        ref = lsq_linear(design, y, bounds=([0.0, 0.0], [1.0, np.inf]), tol=1e-12)
        assert sse == pytest.approx(float((ref.fun**2).sum()), abs=1e-8)
        assert 0.0 <= a <= 1.0 and b >= 0.0


def test_constraints_a_at_most_one_and_a_falling_curve_is_flat():
    n = np.array([5, 10, 20, 40], dtype=float)
    rising_past_one = fit_power_law(n, [0.9, 1.1, 1.3, 1.5])
    assert rising_past_one.a <= 1.0
    falling = fit_power_law(n, [0.8, 0.6, 0.4, 0.2])  # b >= 0: cannot fall; best is flat
    assert falling.b == 0.0 and falling.c == 0.0
    assert falling.a == pytest.approx(0.5)


def test_one_distinct_count_gives_a_flat_curve():
    fit = fit_power_law([3, 3, 3], [0.2, 0.4, 0.3])
    assert fit.kind == "flat" and fit.a == pytest.approx(0.3) and fit.b == 0.0


def test_shared_exponent_recovered_across_classes_of_different_levels():
    groups = []
    for a, b in ((0.9, 1.0), (0.6, 0.8), (0.4, 1.2)):
        n = np.array([4, 8, 12, 16], dtype=float)
        groups.append((n, power_law(n, a, b, 0.7)))
    assert fit_shared_c(groups) == pytest.approx(0.7, rel=0.06)  # C_GRID spacing is ~9%

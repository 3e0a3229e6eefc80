"""Greedy allocation: optimal on a hand case (brute force), caps respected, naive baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tailtune.advise.allocate import allocation_gain, curve_gain, greedy_allocation
from tailtune.advise.plan import naive_allocations

pytestmark = pytest.mark.unit

A = np.array([0.9, 0.7, 0.95])
B = np.array([1.2, 0.9, 0.3])
C = np.array([0.5, 0.8, 0.4])
N = np.array([10, 4, 50])


def test_curve_gain_by_hand():
    # 0.9 - 1.2*n^-0.5 from n=4 to n=9: 1.2*(1/2 - 1/3) = 0.2
    assert float(curve_gain(0.9, 1.2, 0.5, 4, 5)) == pytest.approx(0.2)


def test_greedy_is_optimal_against_brute_force():
    budget = 12
    x = greedy_allocation(A, B, C, N, budget, step=1)
    assert x.sum() == budget
    best = max(
        (sum(float(curve_gain(A[k], B[k], C[k], N[k], xs[k])) for k in range(3)), xs)
        for xs in itertools.product(range(budget + 1), repeat=3)
        if sum(xs) == budget
    )
    got = float(allocation_gain(A, B, C, N, x, 1))
    assert got == pytest.approx(best[0], abs=1e-12)
    assert tuple(x) == best[1]


def test_caps_and_ineligible_classes():
    x = greedy_allocation(A, B, C, N, 20, caps=[3, 100, 100], eligible=[True, True, False])
    assert x[0] <= 3 and x[2] == 0 and x.sum() == 20


def test_flat_curves_leave_the_budget_unspent():
    x = greedy_allocation([0.5, 0.5], [0.0, 0.0], [0.0, 0.0], [10, 10], 50)
    assert x.sum() == 0


def test_naive_allocations():
    alts = naive_allocations([100, 10, 1], 30, caps=[1000, 5, 1000])
    assert list(alts["uniform"]) == [13, 5, 12]  # class 2 capped at 5; the rest refilled
    assert alts["proportional"].sum() == 30 and alts["proportional"][0] > alts["proportional"][2]
    assert list(alts["rarest"]) == [0, 0, 30]

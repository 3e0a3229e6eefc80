"""The labelling plan: share a budget of new examples across classes to maximise macro F1 gain.

Predicted macro F1 gain of adding x_k examples to class k is Σ_k [F1_k(n_k + x_k) − F1_k(n_k)] / K
over the K classes of the macro average (``F1_k`` the fitted learning curve). Each term is concave
in x_k (a − b·n^(−c) with b, c ≥ 0), so giving the next batch to the class with the largest
marginal gain, again and again, is optimal for a separable concave objective under one budget
(the marginal-allocation theorem: Gross 1956; Fox 1966, "Discrete optimization via marginal
analysis", Management Science 13(3)). Batches of ``step`` examples keep large budgets fast; the
result is then optimal on that grid.
"""

from __future__ import annotations

import heapq

import numpy as np

__all__ = ["curve_gain", "greedy_allocation", "allocation_gain"]


def curve_gain(a, b, c, n, x) -> np.ndarray:
    """F1(n + x) − F1(n) for curves a − b·m^(−c) (broadcasts; counts below 1 are taken as 1)."""
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    m = np.maximum(n + np.asarray(x, dtype=float), 1.0)
    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    return b * (n ** (-c) - m ** (-c))


def greedy_allocation(
    a, b, c, n, budget: int, *, caps=None, eligible=None, step: int | None = None
) -> np.ndarray:
    """How many new examples each class gets: greedy on the marginal gain of the next ``step``.

    ``caps[k]`` bounds class k's extra examples (e.g. what an unlabelled pool holds), ``eligible``
    masks classes that get none (unmeasurable ones). ``step`` defaults to ``max(1, budget // 2000)``.
    A class whose next batch gains nothing is never given one, so a budget may stay unspent
    when every curve is flat.
    """
    a, b, c, n = (np.asarray(v, dtype=float) for v in (a, b, c, n))
    k = len(n)
    caps = np.full(k, np.inf) if caps is None else np.asarray(caps, dtype=float)
    eligible = np.ones(k, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    step = max(1, int(step or budget // 2000))
    x = np.zeros(k, dtype=np.int64)
    left = int(budget)

    def next_gain(j: int) -> tuple[float, int]:
        size = int(min(step, left, caps[j] - x[j]))
        if size <= 0:
            return 0.0, 0
        return float(curve_gain(a[j], b[j], c[j], n[j] + x[j], size)), size

    heap = []
    for j in np.flatnonzero(eligible):
        g, size = next_gain(j)
        if g > 0:
            heap.append((-g / size, int(j)))  # the gain per example ranks batches of any size
    heapq.heapify(heap)
    while heap and left > 0:
        _, j = heapq.heappop(heap)
        g, size = next_gain(j)  # the budget may have shrunk since this entry was pushed
        if size <= 0 or g <= 0:
            continue
        x[j] += size
        left -= size
        g, size = next_gain(j)
        if g > 0:
            heapq.heappush(heap, (-g / size, j))
    return x


def allocation_gain(a, b, c, n, x, n_classes: int) -> np.ndarray:
    """Predicted macro F1 gain of allocation ``x``: Σ_k gain_k / ``n_classes``.

    ``a, b, c`` may carry a leading bootstrap axis ``(B, K)``; the result is then ``(B,)``.
    """
    return curve_gain(a, b, c, n, x).sum(axis=-1) / n_classes

"""Largest-remainder allocation of a whole number of rows across classes, with per-class caps."""

from __future__ import annotations

import numpy as np


def allocate(
    target: int, weights: np.ndarray, caps: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Split ``target`` items over classes in proportion to ``weights``, never above ``caps``.

    Hamilton's largest-remainder method: each class gets the floor of its ideal share, and the
    items left over go one at a time to the classes with the largest remainders that still have
    room (ties broken by a seeded permutation, so no class wins by its name). The result sums to
    exactly ``target`` whenever ``caps.sum() >= target``; otherwise every class is at its cap.
    """
    weights = np.asarray(weights, dtype=float)
    caps = np.asarray(caps, dtype=np.int64)
    total = weights.sum()
    ideal = target * weights / total if total > 0 else np.zeros_like(weights)
    alloc = np.minimum(np.floor(ideal).astype(np.int64), caps)
    tiebreak = rng.permutation(len(weights))
    remaining = int(target - alloc.sum())
    while remaining > 0:
        room = np.flatnonzero(alloc < caps)
        if len(room) == 0:
            break
        # order: largest remainder first, then the seeded tie-break
        order = room[np.lexsort((tiebreak[room], -(ideal[room] - alloc[room])))]
        take = order[:remaining]
        alloc[take] += 1
        remaining -= len(take)
    return alloc

"""From probabilities over leaf paths to every level's nodes, and the consistent path predicted.

A flat classifier over leaf paths estimates p(leaf | x). The probability of a node is the sum
over the leaves under it (the node itself included when a path may stop there), so a parent is
always at least as probable as any of its children, and every level's probabilities of a full-
depth tree sum to one. Two decodings give a path in which each node sits under the one above:

- ``"leaf"``: the most probable path, i.e. the argmax leaf (a path's probability is its leaf's);
  at the leaf level it is the flat classifier's own prediction.
- ``"top_down"``: the most probable node at the top level, then the most probable child of it,
  and so on (stopping where a path may end and stopping is more probable than every child). It
  can choose a parent the argmax leaf does not sit under, when that parent's mass is spread over
  several leaves: the coarse levels then follow their summed evidence.

Each decoding also returns the probability of the predicted node at each level (NaN below the
end of a path), which is what the back-off rule (:mod:`tailtune.objectives.backoff`) reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from tailtune.data.hierarchy import Hierarchy, Path

__all__ = ["consistent_paths", "node_proba"]


def node_proba(
    hierarchy: Hierarchy, proba: np.ndarray, classes: Sequence[str] | None = None
) -> list[np.ndarray]:
    """Per level d = 1..depth, an ``(n, len(hierarchy.nodes(d)))`` array of node probabilities:
    ``P(node) = Σ P(leaf)`` over the leaves whose path starts with the node.

    ``proba`` is ``(n, len(classes))``; ``classes`` are leaf labels (default: the hierarchy's
    leaves, in their sorted order, which is a backend's ``classes_`` order). A class that is not a
    leaf of the hierarchy is a ValueError.
    """
    proba, paths = _check(hierarchy, proba, classes)
    return [proba @ _member(hierarchy, paths, d, exact=False) for d in _depths(hierarchy)]


def consistent_paths(
    hierarchy: Hierarchy,
    proba: np.ndarray,
    classes: Sequence[str] | None = None,
    method: Literal["leaf", "top_down"] = "leaf",
) -> tuple[list[Path], np.ndarray]:
    """The predicted path of each row and its node probability at each level.

    Returns ``(paths, path_proba)``: ``paths[i]`` a tuple of names, ``path_proba`` an
    ``(n, depth)`` array with the probability of ``paths[i][:d]`` in column ``d - 1`` and NaN
    where the path stopped above level d. ``method`` is ``"leaf"`` or ``"top_down"`` (module
    docstring); ties go to the first node in sorted order, and, under ``top_down``, deeper.
    """
    if method not in ("leaf", "top_down"):
        raise ValueError(f"method must be 'leaf' or 'top_down', got {method!r}")
    proba, leaf_paths = _check(hierarchy, proba, classes)
    marg = node_proba(hierarchy, proba, [hierarchy.label(p) for p in leaf_paths])
    n = proba.shape[0]
    if method == "leaf":
        paths = [leaf_paths[j] for j in proba.argmax(axis=1)] if proba.shape[1] else [()] * n
    else:
        paths = _top_down(hierarchy, proba, leaf_paths, marg)
    path_proba = np.full((n, hierarchy.depth), np.nan)
    for d in _depths(hierarchy):
        index = {node: j for j, node in enumerate(hierarchy.nodes(d))}
        for i, path in enumerate(paths):
            if len(path) >= d:
                path_proba[i, d - 1] = marg[d - 1][i, index[path[:d]]]
    return paths, path_proba


def _top_down(hierarchy, proba, leaf_paths, marg) -> list[Path]:
    n = proba.shape[0]
    rows = np.arange(n)
    paths: list[Path] = [()] * n
    chosen = np.zeros(n, dtype=int)  # index of each row's node at the level above (root: 0)
    going = np.ones(n, dtype=bool)
    stop = np.zeros((n, 1))  # mass of the leaf that ends at the chosen node (root: none)
    for d in _depths(hierarchy):
        nodes = hierarchy.nodes(d)
        above = {node: j for j, node in enumerate(hierarchy.nodes(d - 1))} if d > 1 else {(): 0}
        parent = np.array([above[node[:-1]] for node in nodes])
        cand = np.where(parent[None, :] == chosen[:, None], marg[d - 1], -np.inf)
        best = cand.argmax(axis=1)
        best_p = cand[rows, best]
        going &= np.isfinite(best_p) & (best_p >= stop[rows, chosen])
        for i in np.flatnonzero(going):
            paths[i] = nodes[best[i]]
        chosen = np.where(going, best, 0)  # rows that stopped keep their path; 0 is a dummy
        stop = proba @ _member(hierarchy, leaf_paths, d, exact=True)
        if not going.any():
            break
    return paths


def _member(hierarchy: Hierarchy, paths: list[Path], depth: int, exact: bool) -> np.ndarray:
    """(K, nodes at depth) 0/1: leaf i lies under node j (``exact``: leaf i *is* node j)."""
    nodes = hierarchy.nodes(depth)
    index = {node: j for j, node in enumerate(nodes)}
    out = np.zeros((len(paths), len(nodes)))
    for i, path in enumerate(paths):
        if (len(path) == depth) if exact else (len(path) >= depth):
            out[i, index[path[:depth]]] = 1.0
    return out


def _check(hierarchy: Hierarchy, proba, classes) -> tuple[np.ndarray, list[Path]]:
    proba = np.asarray(proba, dtype=np.float64)
    labels = list(classes) if classes is not None else hierarchy.classes
    if proba.ndim != 2 or proba.shape[1] != len(labels):
        raise ValueError(f"proba must be (n, {len(labels)}) for {len(labels)} classes")
    paths = [hierarchy.parse(str(c)) for c in labels]
    unknown = [str(c) for c, p in zip(labels, paths, strict=True) if not hierarchy.is_leaf(p)]
    if unknown:
        raise ValueError(f"classes are not leaves of the hierarchy: {unknown[:5]}")
    return proba, paths


def _depths(hierarchy: Hierarchy) -> range:
    return range(1, hierarchy.depth + 1)

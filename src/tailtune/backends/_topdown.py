"""The stages of a top-down hierarchical model: what each classifier learns, and how their
conditional probabilities multiply into probabilities over leaf paths.

At every node a path may go on to one of the node's children or, when paths also end there (a
complaint whose Sub-issue is empty), stop: the node's *options* are its children plus an end
option. A top-down model estimates p(option | node, x) at each node, either with one classifier
per level (its probabilities restricted to the options of the node above and renormalised, so a
child is always read under its parent) or with one classifier per parent (trained only on the
rows under that parent, as a cascade's specialist trains only on the rows routed to it). The
probability of a leaf path is the product of the conditionals along it,
``p(n1..nk) = p(n1) · p(n2 | n1) ··· p(end | nk)``, the chain rule that hierarchical softmax
(Morin & Bengio 2005) and top-down classifier trees (Silla & Freitas 2011) factor a path by;
summing leaves back into nodes (:func:`tailtune.data.hierarchy_proba.node_proba`) gives each
node the product down to it, so top-down decoding of the leaf probabilities follows each
classifier's own argmax, level by level.

Silla, C. N. and Freitas, A. A. (2011). A survey of hierarchical classification across different
application domains. Data Mining and Knowledge Discovery 22(1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tailtune.data.hierarchy import Hierarchy, Path

__all__ = ["END", "leaf_proba", "options", "parents", "restrict", "target"]

END = "(end)"
"""The name of the end option below a node where paths stop (never a real node's name)."""

_SKIP = 1e-9  # a row reaches a node with less mass than this: its classifier is not asked


def options(tree: Hierarchy, parent: Path) -> list[str]:
    """The option labels at ``parent``: its children's labels, then ``parent | (end)`` when
    training paths also stop at ``parent`` and it has children."""
    kids = [tree.label(c) for c in tree.children(parent)]
    if parent and kids and tree.is_leaf(parent):
        kids.append(tree.label((*parent, END)))
    return kids


def parents(tree: Hierarchy, depth: int) -> list[Path]:
    """The nodes whose options are chosen at level ``depth`` (the root for level 1)."""
    return [()] if depth == 1 else [p for p in tree.nodes(depth - 1) if options(tree, p)]


def target(tree: Hierarchy, path: Path, depth: int) -> str | None:
    """The option ``path`` takes at level ``depth``; None when it stopped above the level's
    parent, or at a node with no children."""
    if len(path) >= depth:
        return tree.label(path[:depth])
    if len(path) == depth - 1 and tree.children(path):
        return tree.label((*path, END))
    return None


def restrict(proba: np.ndarray, classes: Sequence[str], opts: Sequence[str]) -> np.ndarray:
    """A stage's probabilities over ``opts`` only, renormalised per row (uniform where the stage
    gives them no mass); an option the stage never saw has probability 0."""
    col = {str(c): j for j, c in enumerate(classes)}
    out = np.zeros((proba.shape[0], len(opts)))
    for k, o in enumerate(opts):
        if o in col:
            out[:, k] = proba[:, col[o]]
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), 1.0 / len(opts))


def leaf_proba(tree: Hierarchy, n: int, conditional) -> np.ndarray:
    """``(n, len(tree.leaves))`` probabilities of the leaf paths (in ``tree.classes`` order).

    ``conditional(parent, rows)`` returns the ``(len(rows), len(options(parent)))``
    conditionals at ``parent`` for the row indices ``rows``; it is asked only for rows that
    reach ``parent`` with probability at least 1e-9 (the others' leaves below it are below 1e-9
    either way and are given uniform conditionals).
    """
    col = {leaf: j for j, leaf in enumerate(tree.leaves)}
    mass: dict[Path, np.ndarray] = {(): np.ones(n)}
    out = np.zeros((n, len(tree.leaves)))
    for depth in range(1, tree.depth + 1):
        for parent in parents(tree, depth):
            opts = options(tree, parent)
            above = mass[parent]
            cond = np.full((n, len(opts)), 1.0 / len(opts))
            rows = np.flatnonzero(above >= _SKIP)
            if len(opts) == 1:
                cond[:] = 1.0
            elif rows.size:
                cond[rows] = conditional(parent, rows)
            for k, option in enumerate(opts):
                node = tree.parse(option)
                if node[-1] == END and len(node) == len(parent) + 1:
                    out[:, col[parent]] += above * cond[:, k]
                else:
                    mass[node] = above * cond[:, k]
    for leaf in tree.leaves:
        if not tree.children(leaf):
            out[:, col[leaf]] = mass[leaf]
    return out

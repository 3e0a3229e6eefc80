"""Hierarchical labels: a label is a path through a tree of levels (Product → Issue → Sub-issue).

A path is the composite label that ``data.label_columns`` already makes, read as levels: the
label ``"Mortgage | Escrow"`` is the path ``("Mortgage", "Escrow")``. A node is identified by its
full path prefix, never by its name alone: an Issue name that repeats under two Products is two
nodes. Paths may stop early (a complaint whose Sub-issue is empty ends at its Issue), so the tree
can be ragged; a path never skips a level.

:class:`Hierarchy` is the tree built from training labels: level names, the separator, the leaf
paths (in the sorted order of their label strings, which is the order of a backend's
``classes_``), and the children of each node. It serializes to JSON for labels.json and the model
folder. Probabilities over leaves become probabilities of every level's nodes by summing the
leaves under each node (:func:`tailtune.data.hierarchy_proba.node_proba`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tailtune.data.stats import class_stats
from tailtune.errors import DataError

__all__ = ["Hierarchy", "Path", "level_stats"]

Path = tuple[str, ...]
"""A path of node names, top level first; ``()`` is the root (no answer)."""


@dataclass(frozen=True)
class Hierarchy:
    """The label tree: level names (top first), the label separator and the leaf paths.

    Build it with :meth:`from_labels`; everything else (nodes per level, children, ancestors) is
    derived from the leaves. ``leaves`` are sorted by their label strings.
    """

    levels: tuple[str, ...]
    leaves: tuple[Path, ...]
    separator: str = " | "
    _children: dict[Path, tuple[Path, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _leaf_set: set[Path] = field(init=False, repr=False, compare=False, default_factory=set)

    def __post_init__(self) -> None:
        # one order everywhere: sorted label strings, as numpy.unique orders a backend's classes_
        leaves = sorted({tuple(p) for p in self.leaves}, key=self.separator.join)
        if any(not 1 <= len(p) <= len(self.levels) for p in leaves):
            raise ValueError(f"every leaf path needs 1..{len(self.levels)} names")
        object.__setattr__(self, "leaves", tuple(leaves))
        object.__setattr__(self, "levels", tuple(self.levels))
        children: dict[Path, set[Path]] = {(): set()}
        for leaf in self.leaves:
            for d in range(1, len(leaf) + 1):
                children.setdefault(leaf[: d - 1], set()).add(leaf[:d])
                children.setdefault(leaf[:d], set())
        self._children.update({k: tuple(sorted(v)) for k, v in children.items()})
        self._leaf_set.update(self.leaves)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_labels(
        cls,
        labels: Iterable[Any],
        levels: Sequence[str] | None = None,
        separator: str = " | ",
        *,
        where: str = "labels",
    ) -> Hierarchy:
        """The tree of the distinct labels (paths joined by ``separator``).

        ``levels`` names the levels (top first); None names them ``level 1``, ``level 2`` ...
        after the deepest path. Raises :class:`DataError` (naming ``where``) for a path deeper
        than the named levels (often a separator inside a name) or with an empty level.
        """
        distinct = sorted({str(x) for x in labels})
        if not distinct:
            raise DataError(f"{where}: no labels to build a hierarchy from")
        paths = [_split(label, separator, where) for label in distinct]
        depth = max(len(p) for p in paths)
        names = tuple(levels) if levels else tuple(f"level {d}" for d in range(1, depth + 1))
        for label, path in zip(distinct, paths, strict=True):
            if len(path) > len(names):
                raise DataError(
                    f"{where}: label '{label}' has {len(path)} levels, expected at most "
                    f"{len(names)} ({', '.join(names)}); is the separator '{separator}' inside a "
                    "name?"
                )
        return cls(levels=names, leaves=tuple(paths), separator=separator)

    @classmethod
    def from_dict(cls, data: dict, where: str = "hierarchy") -> Hierarchy:
        """The inverse of :meth:`to_dict`; a ``children`` map that disagrees is a DataError."""
        try:
            levels, leaves, sep = data["levels"], data["leaves"], data["separator"]
        except (KeyError, TypeError):
            raise DataError(
                f"{where}: expected an object with levels, separator and leaves"
            ) from None
        out = cls.from_labels(leaves, levels, sep, where=where)
        if "children" in data and data["children"] != out.to_dict()["children"]:
            raise DataError(f"{where}: children do not match the leaf paths")
        return out

    def to_dict(self) -> dict:
        """JSON-ready: ``levels, separator, leaves`` (label strings) and ``children`` (each node's
        label -> its children's labels; ``""`` is the root)."""
        return {
            "levels": list(self.levels),
            "separator": self.separator,
            "leaves": [self.label(p) for p in self.leaves],
            "children": {
                self.label(node): [self.label(c) for c in kids]
                for node, kids in self._children.items()
                if kids
            },
        }

    # -- paths and nodes -------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """The number of levels."""
        return len(self.levels)

    @property
    def classes(self) -> list[str]:
        """The leaf labels, sorted (the order of a flat backend's ``classes_``)."""
        return [self.label(p) for p in self.leaves]

    def parse(self, label: str) -> Path:
        """The path of a label string (``"A | b"`` -> ``("A", "b")``; ``""`` -> ``()``)."""
        return _split(str(label), self.separator, "label") if label != "" else ()

    def label(self, path: Sequence[str]) -> str:
        """The label string of a path (its names joined by the separator; the root is ``""``)."""
        return self.separator.join(path)

    def nodes(self, depth: int) -> tuple[Path, ...]:
        """The nodes at ``depth`` (1 = the top level), sorted."""
        self._check_depth(depth)
        return tuple(sorted(n for n in self._children if len(n) == depth))

    def children(self, node: Sequence[str] = ()) -> tuple[Path, ...]:
        """The children of a node (of the root by default); ``()`` for a leaf or unknown node."""
        return self._children.get(tuple(node), ())

    def is_leaf(self, node: Sequence[str]) -> bool:
        """Whether ``node`` is a leaf path (a class a flat model over leaf paths predicts)."""
        return tuple(node) in self._leaf_set

    @staticmethod
    def ancestors(path: Sequence[str], include_self: bool = True) -> list[Path]:
        """The nodes above ``path`` from the top level down (and the path itself, by default):
        the augmented set of Kiritchenko et al. (2006), without the root."""
        path = tuple(path)
        stop = len(path) if include_self else len(path) - 1
        return [path[:d] for d in range(1, stop + 1)]

    def truncate(self, path: Sequence[str], depth: int) -> Path:
        """The path cut to its first ``depth`` levels (a shorter path is returned whole)."""
        self._check_depth(depth)
        return tuple(path)[:depth]

    def level_labels(self, labels: Iterable[str], depth: int) -> list[str | None]:
        """Each label's node at ``depth`` as a label string; None where the path stops above."""
        self._check_depth(depth)
        out: list[str | None] = []
        for label in labels:
            path = self.parse(label)
            out.append(self.label(path[:depth]) if len(path) >= depth else None)
        return out

    def _check_depth(self, depth: int) -> None:
        if not 1 <= depth <= self.depth:
            raise ValueError(f"depth must be in 1..{self.depth}, got {depth}")


def _split(label: str, separator: str, where: str) -> Path:
    # No stripping: label(parse(x)) must give x back, the string a flat backend predicts.
    parts = tuple(label.split(separator))
    if any(not p.strip() for p in parts):
        raise DataError(f"{where}: label '{label}' has an empty level (separator '{separator}')")
    return parts


def level_stats(labels: Iterable[Any], hierarchy: Hierarchy, **tiers: Any) -> list[dict[str, Any]]:
    """:func:`~tailtune.data.stats.class_stats` of every level, and how the tree branches into it.

    ``labels`` are path labels; ``tiers`` (``head_min``, ``tail_max``) go to ``class_stats``, so
    the counts and tiers of level d are those of each node at d (a node is its full path
    prefix). Per level also: ``parents`` (nodes above with children here), ``children_per_parent``
    (min, median, max), ``leaves`` (nodes where paths end) and ``names_under_several_parents``
    (names that repeat at this level under different parents, each repeat a class of its own).
    """
    labels = [str(x) for x in labels]
    out = []
    for d, name in enumerate(hierarchy.levels, start=1):
        at_level = [x for x in hierarchy.level_labels(labels, d) if x is not None]
        parents = hierarchy.nodes(d - 1) if d > 1 else [()]
        fan = sorted(len(hierarchy.children(p)) for p in parents if hierarchy.children(p))
        nodes = hierarchy.nodes(d)
        names = Counter(node[-1] for node in nodes)
        out.append({
            "level": name,
            "depth": d,
            **class_stats(at_level, **tiers),
            "parents": len(fan),
            "children_per_parent": {
                "min": fan[0], "median": float(statistics.median(fan)), "max": fan[-1]
            } if fan else None,
            "leaves": sum(1 for node in nodes if not hierarchy.children(node)),
            "names_under_several_parents": sum(1 for n in names.values() if n > 1),
        })  # fmt: skip
    return out

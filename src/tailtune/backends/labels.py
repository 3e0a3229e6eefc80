"""The label space a backend learns, and the decision rules that turn probabilities into labels.

A :class:`LabelSpace` is the sorted class array and the training prior, with the two lookups
every backend needs (labels to column indices; the validation rows whose class occurs in
training). A decision rule maps a probability matrix over the space to predicted labels; rules
are listed in :data:`RULES` by name and the name is saved with the model, so ``predict``,
``serve`` and the exports decide alike. Argmax is the rule of a single-label task; a space of
kind ``multi`` (each text carries a set of classes) is decided by per-label thresholds (the
learned :class:`tailtune.objectives.thresholds.SetRule`); back-off (hierarchy) can plug in here
as a further entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tailtune.errors import DataError

__all__ = [
    "ArgmaxRule",
    "LabelSpace",
    "PathRule",
    "RULES",
    "ThresholdRule",
    "as_labels",
    "decision_rule",
]


def as_labels(labels: Sequence) -> np.ndarray:
    """Labels as a string object array (the one dtype every backend compares classes in)."""
    return np.asarray(labels, dtype=object).astype(str).astype(object)


@dataclass(frozen=True)
class LabelSpace:
    """Sorted classes and their training frequencies (``prior`` sums to 1).

    ``kind`` is ``single`` (one class per text) or ``multi`` (a set of classes per text,
    :meth:`from_sets`); then ``prior`` is each class's share of the training texts (one
    independent probability per class, not summing to 1) and :meth:`encode` gives the 0/1
    matrix (texts × classes).
    """

    classes: np.ndarray
    prior: np.ndarray
    kind: str = "single"

    @classmethod
    def from_sets(cls, sets: Sequence[Sequence[str]]) -> LabelSpace:
        """The space of training label sets: every label in any set, sorted, with the share of
        texts carrying it."""
        names = sorted({str(x) for s in sets for x in s})
        space = cls(np.asarray(names, dtype=object), np.zeros(len(names)), "multi")
        y = space.encode(sets)
        return cls(space.classes, y.mean(axis=0).astype(np.float64), "multi")

    @classmethod
    def from_labels(cls, labels: Sequence) -> LabelSpace:
        """The space of the training labels: every distinct label, sorted, with its share."""
        classes, counts = np.unique(as_labels(labels).astype(str), return_counts=True)
        return cls(classes.astype(object), counts / counts.sum())

    def encode(self, labels: Sequence) -> np.ndarray:
        """Column indices of ``labels``; a label outside the space is a DataError naming it.
        For a ``multi`` space, the float32 0/1 matrix of label sets (unknown labels: DataError)."""
        if self.kind == "multi":
            return self._indicator(labels, strict=True)
        labels = as_labels(labels).astype(str)
        idx = np.clip(np.searchsorted(self.classes.astype(str), labels), 0, len(self.classes) - 1)
        bad = self.classes[idx] != labels
        if bad.any():
            unknown = sorted(set(labels[bad]))[:5]
            raise DataError(f"labels not seen in training: {', '.join(map(repr, unknown))}")
        return idx

    def known(self, texts: Sequence[str], labels: Sequence) -> tuple[list[str], np.ndarray]:
        """The rows whose label is a class of the space, as ``(texts, column indices)``: a
        validation row of a class training never had cannot be scored by index. For a ``multi``
        space every row is kept; a label training never had is left out of its set."""
        if self.kind == "multi":
            return list(texts), self._indicator(labels, strict=False)
        labels = as_labels(labels)
        keep = np.isin(labels, self.classes)
        kept = [t for t, k in zip(texts, keep, strict=True) if k]
        return kept, self.encode(labels[keep])

    def _indicator(self, sets: Sequence[Sequence[str]], strict: bool) -> np.ndarray:
        index = {str(c): j for j, c in enumerate(self.classes)}
        y = np.zeros((len(sets), len(index)), dtype=np.float32)
        unknown = set()
        for i, s in enumerate(sets):
            for lab in s:
                j = index.get(str(lab))
                if j is None:
                    unknown.add(str(lab))
                else:
                    y[i, j] = 1.0
        if strict and unknown:
            names = ", ".join(map(repr, sorted(unknown)[:5]))
            raise DataError(f"labels not seen in training: {names}")
        return y


class ArgmaxRule:
    """The most probable class of each row (ties go to the first, i.e. sorted, class)."""

    name = "argmax"

    def decide(self, classes: np.ndarray, proba: np.ndarray, rule=None) -> np.ndarray:
        return np.asarray(classes, dtype=object)[np.asarray(proba).argmax(axis=1)]


class PathRule:
    """A model over label paths (:mod:`tailtune.backends.hierarchical`): the path its own
    :class:`~tailtune.objectives.path_decision.PathDecision` decodes (tree, decoding, back-off),
    saved in the model's state. Deciding needs that tree, so this entry only names the rule."""

    name = "path"

    def decide(self, classes: np.ndarray, proba: np.ndarray, rule=None) -> np.ndarray:
        raise DataError(
            "decision rule 'path': decided by the hierarchical model's saved PathDecision, not "
            "from classes and probabilities alone"
        )


class ThresholdRule:
    """Label sets: the labels whose probability clears their threshold (with the top-k cap and
    at-least-one of the learned :class:`~tailtune.objectives.thresholds.SetRule`)."""

    name = "thresholds"

    def decide(self, classes: np.ndarray, proba: np.ndarray, rule=None) -> np.ndarray:
        if rule is None:
            raise DataError("decision rule 'thresholds': the model saved no thresholds")
        chosen = rule.apply(proba)
        out = np.empty(len(chosen), dtype=object)
        names = [str(c) for c in classes]
        out[:] = [tuple(names[j] for j in np.flatnonzero(row)) for row in chosen]
        return out


RULES = {"argmax": ArgmaxRule(), "path": PathRule(), "thresholds": ThresholdRule()}
"""Decision rules by the name a saved model records."""


def decision_rule(name: str):
    """The rule registered under ``name`` (a saved model names one this version lacks: DataError)."""
    if name not in RULES:
        raise DataError(f"decision rule {name!r}: expected one of {', '.join(RULES)}")
    return RULES[name]

"""The label space a backend learns, and the decision rules that turn probabilities into labels.

A :class:`LabelSpace` is the sorted class array and the training prior, with the two lookups
every backend needs (labels to column indices; the validation rows whose class occurs in
training). A decision rule maps a probability matrix over the space to predicted labels; rules
are listed in :data:`RULES` by name and the name is saved with the model, so ``predict``,
``serve`` and the exports decide alike. Argmax is the only rule of a single-label task; per-label
thresholds (multi-label) and back-off (hierarchy) plug in here as further entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tailtune.errors import DataError

__all__ = ["ArgmaxRule", "LabelSpace", "PathRule", "RULES", "as_labels", "decision_rule"]


def as_labels(labels: Sequence) -> np.ndarray:
    """Labels as a string object array (the one dtype every backend compares classes in)."""
    return np.asarray(labels, dtype=object).astype(str).astype(object)


@dataclass(frozen=True)
class LabelSpace:
    """Sorted classes and their training frequencies (``prior`` sums to 1)."""

    classes: np.ndarray
    prior: np.ndarray

    @classmethod
    def from_labels(cls, labels: Sequence) -> LabelSpace:
        """The space of the training labels: every distinct label, sorted, with its share."""
        classes, counts = np.unique(as_labels(labels).astype(str), return_counts=True)
        return cls(classes.astype(object), counts / counts.sum())

    def encode(self, labels: Sequence) -> np.ndarray:
        """Column indices of ``labels``; a label outside the space is a DataError naming it."""
        labels = as_labels(labels).astype(str)
        idx = np.clip(np.searchsorted(self.classes.astype(str), labels), 0, len(self.classes) - 1)
        bad = self.classes[idx] != labels
        if bad.any():
            unknown = sorted(set(labels[bad]))[:5]
            raise DataError(f"labels not seen in training: {', '.join(map(repr, unknown))}")
        return idx

    def known(self, texts: Sequence[str], labels: Sequence) -> tuple[list[str], np.ndarray]:
        """The rows whose label is a class of the space, as ``(texts, column indices)``: a
        validation row of a class training never had cannot be scored by index."""
        labels = as_labels(labels)
        keep = np.isin(labels, self.classes)
        kept = [t for t, k in zip(texts, keep, strict=True) if k]
        return kept, self.encode(labels[keep])


class ArgmaxRule:
    """The most probable class of each row (ties go to the first, i.e. sorted, class)."""

    name = "argmax"

    def decide(self, classes: np.ndarray, proba: np.ndarray) -> np.ndarray:
        return np.asarray(classes, dtype=object)[np.asarray(proba).argmax(axis=1)]


class PathRule:
    """A model over label paths (:mod:`tailtune.backends.hierarchical`): the path its own
    :class:`~tailtune.objectives.path_decision.PathDecision` decodes (tree, decoding, back-off),
    saved in the model's state. Deciding needs that tree, so this entry only names the rule."""

    name = "path"

    def decide(self, classes: np.ndarray, proba: np.ndarray) -> np.ndarray:
        raise DataError(
            "decision rule 'path': decided by the hierarchical model's saved PathDecision, not "
            "from classes and probabilities alone"
        )


RULES = {"argmax": ArgmaxRule(), "path": PathRule()}
"""Decision rules by the name a saved model records."""


def decision_rule(name: str):
    """The rule registered under ``name`` (a saved model names one this version lacks: DataError)."""
    if name not in RULES:
        raise DataError(f"decision rule {name!r}: expected one of {', '.join(RULES)}")
    return RULES[name]

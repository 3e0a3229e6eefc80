"""The decision rule of a model over label paths, saved with it and used everywhere alike.

A hierarchical model outputs probabilities over leaf paths. :class:`PathDecision` turns them into
an answer: the consistent path (``decode``: ``top_down`` over parents summed from their leaves,
or the most probable ``leaf``; :mod:`tailtune.data.hierarchy_proba`), each level's node
probability, and the back-off answer (:class:`~tailtune.objectives.backoff.BackoffRule`: the
deepest level that clears its threshold, else ``"unknown"``). The run's model, ``tailtune
predict``, ``tailtune serve`` and every export's ``export.json`` carry the same rule as JSON
(:meth:`PathDecision.to_dict`), so a path served from an ONNX export is the path the run predicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tailtune.data.hierarchy import Hierarchy, Path
from tailtune.errors import DataError
from tailtune.objectives.backoff import BackoffRule

__all__ = ["UNKNOWN", "PathDecision"]

UNKNOWN = "unknown"
"""The answer of a backed-off prediction that clears no level's threshold."""


@dataclass(frozen=True)
class PathDecision:
    """The tree, how a path is decoded from leaf probabilities, and the back-off rule."""

    hierarchy: Hierarchy
    decode: str = "top_down"
    rule: BackoffRule | None = None

    def paths(self, proba: np.ndarray, classes: Sequence[str]) -> tuple[list[Path], np.ndarray]:
        """``(paths, path_proba)``: the decoded path of each row and each level's node
        probability (NaN below the end of a path)."""
        from tailtune.data.hierarchy_proba import consistent_paths

        return consistent_paths(self.hierarchy, proba, list(classes), method=self.decode)

    def labels(self, proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """The decoded path of each row as a leaf label."""
        paths, _ = self.paths(proba, classes)
        return np.asarray([self.hierarchy.label(p) for p in paths], dtype=object)

    def answers(self, paths: Sequence[Path], path_proba: np.ndarray) -> list[str]:
        """Each path cut to its confident levels as a label, or ``"unknown"``; the whole path
        when there is no back-off rule."""
        cut = list(paths) if self.rule is None else self.rule.apply(paths, path_proba)
        return [self.hierarchy.label(p) if p else UNKNOWN for p in cut]

    def describe(self, proba: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
        """``path`` (leaf labels), ``answer`` (backed off), ``depth`` (levels answered) and
        ``level_proba`` (``{level: probability}`` per row, levels the path reaches)."""
        paths, path_proba = self.paths(proba, classes)
        if self.rule is None:
            depths = np.array([len(p) for p in paths], dtype=int)
        else:
            depths = self.rule.depths(path_proba)
        levels = self.hierarchy.levels
        return {
            "path": [self.hierarchy.label(p) for p in paths],
            "answer": self.answers(paths, path_proba),
            "depth": depths,
            "level_proba": [
                {lvl: float(p) for lvl, p in zip(levels, row, strict=True) if not np.isnan(p)}
                for row in path_proba
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"hierarchy": ..., "decode": ..., "backoff": rule or None}``."""
        return {
            "hierarchy": self.hierarchy.to_dict(),
            "decode": self.decode,
            "backoff": None if self.rule is None else self.rule.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "decision rule") -> PathDecision:
        """The inverse of :meth:`to_dict`; a malformed record is a DataError naming ``where``."""
        if not isinstance(data, dict) or "hierarchy" not in data:
            raise DataError(f"{where}: expected an object with a hierarchy")
        decode = data.get("decode", "top_down")
        if decode not in ("top_down", "leaf"):
            raise DataError(f"{where}: decode {decode!r}, expected top_down or leaf")
        rule = data.get("backoff")
        return cls(
            hierarchy=Hierarchy.from_dict(data["hierarchy"], where=f"{where}: hierarchy"),
            decode=decode,
            rule=None if rule is None else BackoffRule.from_dict(rule, f"{where}: backoff"),
        )

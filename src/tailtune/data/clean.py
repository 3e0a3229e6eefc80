"""Cleaning that says what it did: duplicates, conflicting labels, classes too small to keep.

Nothing is dropped silently (docs/style.md): every removal is counted in the
:class:`CleanReport`, with example ids, and conflicting duplicates (same text, different
labels) are reported but kept, since which label is right is the user's call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tailtune.errors import DataError

__all__ = ["CleanReport", "clean"]

_SHOWN = 10


@dataclass
class CleanReport:
    """What :func:`clean` found and removed."""

    rows_in: int
    rows_out: int
    duplicates_found: int  # rows repeating an earlier (text, label) pair
    duplicates_removed: int
    duplicate_ids: list[str] = field(default_factory=list)  # first few removed/found
    conflicting_texts: int = 0  # distinct texts that carry more than one label
    conflicting_rows: int = 0
    conflict_examples: list[dict[str, Any]] = field(default_factory=list)
    min_class_size: int = 1
    dropped_classes: dict[str, int] = field(default_factory=dict)  # label -> count
    rows_dropped_small_classes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for data.json and --json output)."""
        return asdict(self)

    def lines(self) -> list[str]:
        """Human-readable summary lines (only the things that happened)."""
        out = []
        if self.duplicates_found:
            verb = "removed" if self.duplicates_removed else "found (kept)"
            out.append(
                f"{verb} {self.duplicates_found:,} exact duplicate rows (same text and label)"
            )
        if self.conflicting_texts:
            out.append(
                f"{self.conflicting_texts:,} texts appear with different labels "
                f"({self.conflicting_rows:,} rows, kept)"
            )
        if self.dropped_classes:
            shown = ", ".join(
                f"'{k}' ({v})" for k, v in list(self.dropped_classes.items())[:_SHOWN]
            )
            more = ", ..." if len(self.dropped_classes) > _SHOWN else ""
            out.append(
                f"dropped {len(self.dropped_classes)} classes under {self.min_class_size} examples "
                f"({self.rows_dropped_small_classes:,} rows): {shown}{more}"
            )
        return out


def clean(
    frame: pd.DataFrame, *, drop_duplicates: bool = False, min_class_size: int = 1
) -> tuple[pd.DataFrame, CleanReport]:
    """Report duplicates and conflicts; optionally drop exact duplicates and small classes.

    Duplicates are exact (text, label) repeats; the first occurrence is kept. Classes are
    counted after duplicate removal, and those with fewer than ``min_class_size`` rows are
    dropped and listed with their counts (smallest first). Raises DataError when fewer than
    two classes remain.
    """
    rows_in = len(frame)
    dup_mask = frame.duplicated(subset=["text", "label"], keep="first").to_numpy()
    dup_ids = frame.loc[dup_mask, "id"].astype(str).head(_SHOWN).tolist()
    if drop_duplicates:
        frame = frame[~dup_mask]
    n_labels = (
        frame.drop_duplicates(["text", "label"]).groupby("text", sort=False)["label"].nunique()
    )
    conflicted = n_labels[n_labels > 1]
    in_conflict = frame[frame["text"].isin(conflicted.index)]
    examples = [
        {
            "text": t[:120],
            "labels": sorted(g["label"].unique().tolist()),
            "ids": g["id"].head(5).tolist(),
        }
        for t, g in list(in_conflict.groupby("text", sort=False))[:_SHOWN]
    ]
    counts = frame["label"].value_counts()
    small = counts[counts < min_class_size].sort_values(kind="stable")
    dropped_rows = int(small.sum())
    if len(small):
        frame = frame[~frame["label"].isin(small.index)]
    remaining = frame["label"].nunique()
    if remaining < 2:
        raise DataError(
            f"clean: {remaining} class left after dropping classes under {min_class_size} "
            f"examples ({len(small)} dropped); lower min_class_size"
        )
    report = CleanReport(
        rows_in=rows_in,
        rows_out=len(frame),
        duplicates_found=int(dup_mask.sum()),
        duplicates_removed=int(dup_mask.sum()) if drop_duplicates else 0,
        duplicate_ids=dup_ids,
        conflicting_texts=len(conflicted),
        conflicting_rows=len(in_conflict),
        conflict_examples=examples,
        min_class_size=min_class_size,
        dropped_classes={str(k): int(v) for k, v in small.items()},
        rows_dropped_small_classes=dropped_rows,
    )
    return frame.reset_index(drop=True), report

"""Class statistics: imbalance, frequency tiers, and how thin a validation split is per class.

Tiers follow the one rule of :func:`tailtune.evaluation.tiers.resolve_tiers` (the rule every run
records), so ``tailtune data stats`` shows the tiers a run on the same data would use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from tailtune.evaluation.tiers import resolve_tiers

__all__ = ["class_counts", "class_stats", "split_stats"]


def class_counts(labels: Iterable[Any]) -> dict[str, int]:
    """Counts per label (as strings), largest first, ties by label name."""
    counts = Counter(str(x) for x in labels)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def class_stats(
    labels: Iterable[Any], *, head_min: int | None = None, tail_max: int | None = None
) -> dict:
    """Rows, classes, largest/smallest class, imbalance ratio, small classes and tiers.

    ``imbalance_ratio`` = largest count / smallest count. ``tiers`` maps head/mid/tail to the
    number of classes and rows in each, by :func:`~tailtune.evaluation.tiers.resolve_tiers`
    (``head_min`` / ``tail_max`` None = auto, as the config's ``eval`` section); ``tiers_rule``
    says which rule made them.
    """
    counts = class_counts(labels)
    if not counts:
        return {"rows": 0, "classes": 0}
    (big, n_big), (small, n_small) = next(iter(counts.items())), list(counts.items())[-1]
    return {
        "rows": sum(counts.values()),
        "classes": len(counts),
        "largest": {"label": big, "count": n_big},
        "smallest": {"label": small, "count": n_small},
        "imbalance_ratio": n_big / n_small,
        "classes_under_20": sum(1 for n in counts.values() if n < 20),
        "classes_under_100": sum(1 for n in counts.values() if n < 100),
        **resolve_tiers(counts, head_min, tail_max).class_stats(counts),
        "counts": counts,
    }


def split_stats(train_labels: Iterable[Any], val_labels: Iterable[Any]) -> dict[str, Any]:
    """How thin the validation split is per class, and what that does to the macro average.

    The macro average runs over the classes present in validation (docs/architecture.md), so a
    class with ``k`` validation examples carries 1/n_val_classes of macro F1 however small
    ``k`` is; ``share_of_macro_le5`` is the fraction of that average decided by classes with at
    most 5 validation examples (``share_of_macro_1`` likewise for exactly one).
    """
    train = class_counts(train_labels)
    val = class_counts(val_labels)
    n_val_classes = len(val)
    le5 = sorted(k for k, n in val.items() if n <= 5)
    one = sorted(k for k, n in val.items() if n == 1)
    missing = sorted(k for k in val if k not in train)
    return {
        "train_rows": sum(train.values()),
        "val_rows": sum(val.values()),
        "train_classes": len(train),
        "val_classes": n_val_classes,
        "train_classes_absent_from_val": sum(1 for k in train if k not in val),
        "val_classes_le5": len(le5),
        "val_classes_1": len(one),
        "share_of_macro_le5": len(le5) / n_val_classes if n_val_classes else 0.0,
        "share_of_macro_1": len(one) / n_val_classes if n_val_classes else 0.0,
        "val_classes_missing_from_train": missing,
    }

"""Multi-label data: each text carries a set of labels (``data.multi_label: sets``).

In a frame a label set is one string, its labels sorted and joined by the set separator
(``data.multi_label_separator``, default ``,``); the empty set is ``""`` (kept only with
``data.keep_empty_set``). Cells are read in one of three layouts (``data.label_format``):
``separator`` (``"anger,joy"``; list cells of JSONL / Parquet are lists already), ``json`` (a
JSON list in a text cell, ``["anger", "joy"]``) or ``columns`` (the label columns are one 0/1
column per label, named after it).

Everything downstream works on the indicator matrix ``Y`` (texts × labels, 0/1) of
:func:`indicator`; :func:`set_stats` is ``tailtune data stats`` for label sets: frequency and
frequency tier per label (tiers by the one rule of :func:`tailtune.evaluation.tiers.resolve_tiers`,
counting each text once per label it carries), labels per text and co-occurring pairs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from tailtune.errors import DataError
from tailtune.evaluation.tiers import resolve_tiers

__all__ = [
    "DEFAULT_SET_SEPARATOR",
    "LABEL_FORMATS",
    "cell_labels",
    "indicator",
    "join_set",
    "label_counts",
    "parse_sets",
    "set_stats",
]

DEFAULT_SET_SEPARATOR = ","
LABEL_FORMATS = ("separator", "json", "columns")
_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no", ""}


def join_set(labels: Iterable[str], sep: str | None) -> str:
    """The frame string of a label set: sorted, de-duplicated, joined by ``sep``."""
    return (sep or DEFAULT_SET_SEPARATOR).join(sorted(set(labels)))


def parse_sets(labels: Iterable[Any], sep: str | None) -> list[tuple[str, ...]]:
    """Frame label strings back to sorted label tuples (``""`` or NaN is the empty set)."""
    sep = sep or DEFAULT_SET_SEPARATOR
    out = []
    for value in labels:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(())
            continue
        parts = {p.strip() for p in str(value).split(sep)}
        out.append(tuple(sorted(p for p in parts if p)))
    return out


def indicator(
    sets: Sequence[Sequence[str]], classes: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """The 0/1 matrix ``Y`` (texts × classes, uint8) and its class order (sorted when None).

    A label outside a given ``classes`` is ignored (a label never seen in training cannot be
    predicted; the metrics count it through the texts' other labels).
    """
    if classes is None:
        classes = sorted({lab for s in sets for lab in s})
    index = {c: j for j, c in enumerate(classes)}
    y = np.zeros((len(sets), len(classes)), dtype=np.uint8)
    for i, s in enumerate(sets):
        for lab in s:
            j = index.get(lab)
            if j is not None:
                y[i, j] = 1
    return y, list(classes)


def label_counts(sets: Iterable[Sequence[str]]) -> dict[str, int]:
    """Texts carrying each label, largest first, ties by label name."""
    counts = Counter(lab for s in sets for lab in s)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def set_stats(
    sets: Sequence[Sequence[str]],
    *,
    head_min: int | None = None,
    tail_max: int | None = None,
    top_pairs: int = 10,
) -> dict[str, Any]:
    """Per-label frequency and tier, labels per text, and the most frequent co-occurring pairs.

    ``labels_per_text`` maps 0, 1, 2 and ``"3+"`` to the number of texts; ``pairs`` lists the
    ``top_pairs`` most frequent label pairs with their count and Jaccard overlap
    ``n_ab / (n_a + n_b − n_ab)`` (how often two labels that appear at all appear together).
    """
    counts = label_counts(sets)
    if not counts:
        return {"rows": len(sets), "labels": 0}
    sizes = Counter(min(len(s), 3) for s in sets)
    pairs = Counter(p for s in sets for p in combinations(sorted(s), 2))
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:top_pairs]
    tiers = resolve_tiers(counts, head_min, tail_max)
    (big, n_big), (small, n_small) = next(iter(counts.items())), list(counts.items())[-1]
    return {
        "rows": len(sets),
        "labels": len(counts),
        "label_assignments": int(sum(counts.values())),
        "mean_labels_per_text": float(np.mean([len(s) for s in sets])),
        "labels_per_text": {("3+" if k == 3 else str(k)): int(sizes.get(k, 0)) for k in range(4)},
        "multi_label_share": float(sum(1 for s in sets if len(s) > 1) / len(sets)),
        "distinct_label_sets": len({tuple(s) for s in sets}),
        "largest": {"label": big, "count": n_big},
        "smallest": {"label": small, "count": n_small},
        "imbalance_ratio": n_big / n_small,
        "labels_under_20": sum(1 for n in counts.values() if n < 20),
        **tiers.class_stats(counts),
        "label_tiers": tiers.tiers,
        "counts": counts,
        "pairs": [
            {"labels": [a, b], "count": n, "jaccard": n / (counts[a] + counts[b] - n)}
            for (a, b), n in ranked
        ],
    }


def cell_labels(value: Any, fmt: str, sep: str | None, where: str) -> list[str]:
    """The labels of one cell in layout ``separator`` or ``json`` (``where`` names file:line).

    A list cell (JSONL, Parquet) is a list in every layout. Raises DataError for a ``json``
    cell that is not a JSON list of strings or numbers.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple)) or (
        hasattr(value, "tolist") and not isinstance(value, str)
    ):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        return [str(v).strip() for v in (items if isinstance(items, list) else [items])]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if fmt == "json":
        if not text:
            return []
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or any(isinstance(v, (list, dict)) for v in items):
            raise DataError(
                f"{where}: label cell {text[:40]!r} is not a JSON list of labels "
                '(data.label_format: json expects e.g. ["anger", "joy"])'
            )
        return [str(v).strip() for v in items if str(v).strip()]
    return [p.strip() for p in text.split(sep or DEFAULT_SET_SEPARATOR) if p.strip()]


def column_flag(value: Any, where: str, column: str) -> bool:
    """Whether a 0/1 label column's cell says the text carries that label."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DataError(
        f"{where}: column '{column}' holds {str(value)[:40]!r}; data.label_format: columns "
        "expects 0 or 1 in each label column"
    )

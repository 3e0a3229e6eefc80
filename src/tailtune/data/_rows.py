"""Row assembly: join text columns, turn label cells into label strings, set aside empty rows.

Kept apart from :mod:`tailtune.data.load` so each module reads on a screen or two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tailtune.errors import DataError

FRAME_COLUMNS = ["id", "text", "label", "line"]


@dataclass(frozen=True)
class RowRules:
    """How :func:`to_frame` makes rows of a table: the data options that shape a row.

    ``texts`` and ``labels`` are column names; ``names`` maps integer label ids to names;
    ``text_sep`` joins text columns, ``label_sep`` label columns (levels), ``ml_sep`` splits a
    multi-label cell; ``multi_label``, ``hierarchy``, ``missing_levels``, ``label_format`` and
    ``keep_empty_set`` are the data section's fields of those names.
    """

    texts: list[str]
    labels: list[str]
    id_column: str | None = None
    names: list[str] | None = None
    text_sep: str = "\n"
    label_sep: str = " | "
    ml_sep: str | None = None
    multi_label: str = "keep"
    hierarchy: bool = False
    missing_levels: tuple[str, ...] | list[str] = ()
    label_format: str = "separator"
    keep_empty_set: bool = False


def to_frame(path, table, prefix: str, rules: RowRules):
    """Join text and label columns, map label ids to names, and split off rows to remove.

    With ``rules.hierarchy`` the label columns are levels of a path: empty cells after the last
    filled level end the path early (an empty cell before a filled one is still an empty label),
    and a cell that is one of ``missing_levels`` (CFPB writes an absent Sub-issue as ``None``)
    counts as empty. With ``multi_label="sets"`` the label is a set
    (:mod:`tailtune.data.labelsets`).
    """
    texts, labels, id_column, names = rules.texts, rules.labels, rules.id_column, rules.names
    text_sep, label_sep, ml_sep = rules.text_sep, rules.label_sep, rules.ml_sep
    multi_label, hierarchy = rules.multi_label, rules.hierarchy
    missing = {str(m) for m in rules.missing_levels} if hierarchy else set()
    if multi_label == "sets":
        return _set_rows(path, table, prefix, rules)
    feats = table.features or {}
    label_lists = [[_label_parts(v, ml_sep) for v in table.values[c]] for c in labels]
    label_lists = [
        _apply_names(path, table.lines, parts, names or _feature_names(feats.get(c)))
        for parts, c in zip(label_lists, labels, strict=False)
    ]
    rows, gone = [], []
    for i, line in enumerate(table.lines):
        rid = str(table.values[id_column][i]) if id_column else f"{prefix}:{line}"
        text = text_sep.join(t for t in (_as_text(table.values[c][i]) for c in texts) if t.strip())
        per_col = [ll[i] for ll in label_lists]
        if hierarchy and len(per_col) == 1 and len(per_col[0]) == 1:
            per_col = [_path_cell(per_col[0][0], label_sep, missing)]
        if missing:
            per_col = [[] if len(p) == 1 and p[0].strip() in missing else p for p in per_col]
        while hierarchy and len(per_col) > 1 and not per_col[-1]:
            per_col.pop()
        reason = None
        if not text.strip():
            reason = "empty_text"
        elif any(not parts for parts in per_col):
            reason = "empty_label"
        elif multi_label == "single" and any(len(parts) > 1 for parts in per_col):
            reason = "multi_label"
        if reason:
            gone.append((rid, line, str(path), reason))
            continue
        # A multi-label cell is a set: sorted and de-duplicated, so that "flight#airfare" and
        # "airfare#flight" (both in ATIS) are one class, not two that never meet.
        label = label_sep.join((ml_sep or ",").join(sorted(set(parts))) for parts in per_col)
        rows.append((rid, text, label, line))
    if table.lines and len(gone) == len(table.lines):
        reasons = {r for *_, r in gone}
        if reasons == {"empty_label"}:
            raise DataError(f"{path}: label column {_names(labels)} is empty in every row")
        if reasons == {"empty_text"}:
            raise DataError(f"{path}: text column {_names(texts)} is empty in every row")
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS).astype({"line": "int64"})
    return frame, pd.DataFrame(gone, columns=["id", "line", "file", "reason"])


def _set_rows(path, table, prefix, rules: RowRules):
    """Rows whose label is a set, joined into the frame's set string (labelsets.join_set)."""
    from tailtune.data.labelsets import cell_labels, column_flag, join_set

    texts, labels, id_column, text_sep = rules.texts, rules.labels, rules.id_column, rules.text_sep
    sep, fmt, keep = rules.ml_sep, rules.label_format, rules.keep_empty_set
    names = rules.names or _feature_names((table.features or {}).get(labels[0]))
    joiner = sep or ","
    rows, gone = [], []
    for i, line in enumerate(table.lines):
        where = f"{path}: line {line}"
        rid = str(table.values[id_column][i]) if id_column else f"{prefix}:{line}"
        text = text_sep.join(t for t in (_as_text(table.values[c][i]) for c in texts) if t.strip())
        if fmt == "columns":
            found = [c for c in labels if column_flag(table.values[c][i], where, c)]
        else:
            found = [x for c in labels for x in cell_labels(table.values[c][i], fmt, sep, where)]
            if names is not None:
                found = _apply_names(path, [line], [found], names)[0]
        bad = [x for x in found if joiner in x]
        if bad:
            raise DataError(
                f"{where}: label '{bad[0]}' contains the set separator "
                f"'{joiner}'; set data.multi_label_separator to a string no label contains"
            )
        reason = "empty_text" if not text.strip() else None
        if reason is None and not found and not keep:
            reason = "empty_label"
        if reason:
            gone.append((rid, line, str(path), reason))
            continue
        rows.append((rid, text, join_set(found, sep), line))
    if table.lines and len(gone) == len(table.lines) and {r for *_, r in gone} == {"empty_text"}:
        raise DataError(f"{path}: text column {_names(texts)} is empty in every row")
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS).astype({"line": "int64"})
    return frame, pd.DataFrame(gone, columns=["id", "line", "file", "reason"])


def _as_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _path_cell(cell: str, sep: str, missing: set[str]) -> list[str]:
    """A path written in one cell (``"A > B > C"``), as the one-column form of level columns:
    empty or ``missing`` levels after the last filled one end the path early (``"A > "``, read
    with the cell's outer spaces gone as ``"A >"``, is ``"A"``); an empty level before a filled
    one makes the label empty (``[]``: the row is removed and listed with its line)."""
    text = cell.strip()
    head, tail = sep.lstrip(), sep.rstrip()
    if tail and text.endswith(tail):
        text = text[: -len(tail)] + sep
    if head and text.startswith(head):
        text = sep + text[len(head) :]
    parts = [p.strip() for p in text.split(sep)]
    parts = ["" if p in missing else p for p in parts]
    while parts and not parts[-1]:
        parts.pop()
    return [sep.join(parts)] if parts and all(parts) else []


def _label_parts(value: Any, sep: str | None) -> list[str]:
    """A cell's labels as strings: a list cell stays a list; a string is split on ``sep``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, str):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        items = items if isinstance(items, list) else [items]
        return [p for v in items for p in _label_parts(v, None)]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value))]
    text = str(value).strip()
    if not text:
        return []
    if sep:
        return [p.strip() for p in text.split(sep) if p.strip()]
    return [text]


def _apply_names(path, lines, label_lists, names):
    if names is None:
        return label_lists
    out = []
    for line, parts in zip(lines, label_lists, strict=False):
        mapped = []
        for part in parts:
            try:
                mapped.append(names[int(part)])
            except (ValueError, IndexError):
                raise DataError(
                    f"{path}: line {line}: label '{part}' is not an index into the "
                    f"{len(names)} label names (0..{len(names) - 1})"
                ) from None
        out.append(mapped)
    return out


def _feature_names(feature: Any) -> list[str] | None:
    """Names of a datasets ClassLabel (or a sequence of ClassLabel) feature, if it is one."""
    inner = getattr(feature, "feature", feature)  # Sequence(ClassLabel) -> ClassLabel
    inner = inner[0] if isinstance(inner, list) and inner else inner
    return list(inner.names) if hasattr(inner, "names") and hasattr(inner, "int2str") else None


def _names(columns: list[str]) -> str:
    return " + ".join(f"'{c}'" for c in columns)

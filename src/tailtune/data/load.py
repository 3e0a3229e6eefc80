"""Load labelled texts from CSV, TSV, JSONL, Parquet, a 🤗 ``datasets`` directory or line files.

Every loader returns a frame with the columns ``id, text, label, line`` (docs/architecture.md).
Rows with an empty text or label are removed, counted and listed in the report with their line
numbers, never dropped silently; input the user must fix raises one-line :class:`DataError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tailtune.data import _readers, _rows
from tailtune.data._formats import read_columns, resolve_format
from tailtune.data.labelsets import DEFAULT_SET_SEPARATOR, LABEL_FORMATS, label_counts, parse_sets
from tailtune.errors import DataError

__all__ = ["LoadResult", "load_table", "load_line_aligned", "summary_lines", "FRAME_COLUMNS"]

FRAME_COLUMNS = _rows.FRAME_COLUMNS
_FORMATS = ("csv", "tsv", "jsonl", "parquet", "hf", "lines")  # and hub: a name, read by read_hub
_SHOWN = 10  # line numbers listed per removal reason


@dataclass
class LoadResult:
    """The loaded frame, what happened while loading, and the rows that were removed."""

    frame: pd.DataFrame
    report: dict[str, Any]
    removed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["id", "line", "reason"])
    )


def load_table(
    path: str | Path | list[str | Path],
    *,
    format: str = "auto",
    text_columns: tuple[str, ...] | list[str] | str = ("text",),
    label_columns: tuple[str, ...] | list[str] | str = ("label",),
    label_separator: str = " | ",
    text_separator: str = "\n",
    column_names: list[str] | None = None,
    skip_rows: int | list[int] = 0,
    encoding: str = "utf-8",
    label_names: str | Path | None = None,
    multi_label_separator: str | None = None,
    multi_label: str = "keep",
    label_format: str = "separator",
    keep_empty_set: bool = False,
    hierarchy: bool = False,
    missing_levels: tuple[str, ...] | list[str] = ("None",),
    split: str | None = None,
    hub_config: str | None = None,
    id_column: str | None = None,
    min_classes: int = 2,
) -> LoadResult:
    """Load one file or several (concatenated) into an ``id, text, label, line`` frame.

    ``format`` is auto (by suffix; a directory is a ``datasets`` directory), csv, tsv, jsonl,
    parquet, hf (``save_to_disk`` output; a DatasetDict needs ``split=``), hub (a Hugging Face
    Hub data set name, with ``hub_config`` and ``split``; needs a network) or lines (a directory
    holding line-aligned ``seq.in`` + ``label``, as in ATIS). Several label columns make one
    composite label joined by ``label_separator``. With ``label_names`` (a file, one name per line)
    labels are integer indices into it. ``multi_label_separator`` splits a multi-label cell;
    ``multi_label="single"`` keeps only rows with exactly one label (the others are reported);
    ``multi_label="sets"`` reads each label as a set of labels, its cells laid out as
    ``label_format`` says (:mod:`tailtune.data.labelsets`), keeping label-less rows as the empty
    set with ``keep_empty_set``.
    With ``hierarchy`` the label columns are the levels of a path (:mod:`tailtune.data.hierarchy`):
    empty trailing levels end a path early instead of removing the row, and a cell holding one of
    ``missing_levels`` is empty (CFPB's payday file writes an absent Sub-issue as ``None``).
    ``id_column`` takes ids from a column (e.g. ``id`` in split files) instead of ``<stem>:<line>``.
    ``min_classes`` (default 2) raises DataError when fewer distinct labels remain.
    """
    paths = [Path(p) for p in (path if isinstance(path, (list, tuple)) else [path])]
    if not paths:
        raise DataError("no input file given")
    skips = skip_rows if isinstance(skip_rows, (list, tuple)) else [skip_rows] * len(paths)
    if len(skips) != len(paths):
        raise DataError(f"skip_rows has {len(skips)} entries for {len(paths)} files")
    if multi_label not in ("keep", "single", "sets"):
        raise DataError(f"multi_label: got '{multi_label}', expected one of: keep, single, sets")
    if label_format not in LABEL_FORMATS:
        raise DataError(
            f"label_format: got '{label_format}', expected one of: {', '.join(LABEL_FORMATS)}"
        )
    if label_format != "separator" and multi_label != "sets":
        raise DataError(f"label_format: '{label_format}' reads label sets; set multi_label: sets")
    texts = [text_columns] if isinstance(text_columns, str) else list(text_columns)
    labels = [label_columns] if isinstance(label_columns, str) else list(label_columns)
    names = _read_label_names(Path(label_names), encoding) if label_names else None
    prefixes = _id_prefixes(paths)
    rules = _rows.RowRules(
        texts, labels, id_column, names, text_separator, label_separator, multi_label_separator,
        multi_label, hierarchy, missing_levels, label_format, keep_empty_set,
    )  # fmt: skip
    frames, removed, files = [], [], []
    for p, skip, prefix in zip(paths, skips, prefixes, strict=False):
        if format == "hub":  # a name on the Hub, not a path
            fmt = format
            wanted = list(dict.fromkeys(texts + labels + ([id_column] if id_column else [])))
            table = _readers.read_hub(str(p), wanted, split=split, config=hub_config)
        else:
            fmt = resolve_format(p, format, _FORMATS)
            table = _read(p, fmt, texts, labels, id_column, column_names, skip, encoding, split)
        frame, gone = _rows.to_frame(p, table, prefix, rules)
        frames.append(frame)
        removed.append(gone)
        files.append(
            {"path": str(p), "format": fmt, "rows_read": len(table.lines), "rows": len(frame)}
        )
    frame = pd.concat(frames, ignore_index=True)[FRAME_COLUMNS]
    gone = pd.concat(removed, ignore_index=True)
    sets_sep = (multi_label_separator or DEFAULT_SET_SEPARATOR) if multi_label == "sets" else None
    _check_classes(paths, frame, labels, min_classes, sets_sep)
    report = {
        "files": files,
        "rows_read": sum(f["rows_read"] for f in files),
        "rows": len(frame),
        "classes": _n_classes(frame, sets_sep),
        "removed": _removed_summary(gone),
    }
    return LoadResult(frame=frame, report=report, removed=gone)


def load_line_aligned(
    text_file: str | Path,
    label_file: str | Path,
    *,
    name: str | None = None,
    encoding: str = "utf-8",
    multi_label_separator: str | None = None,
    multi_label: str = "keep",
    min_classes: int = 2,
) -> LoadResult:
    """Load a text file and a label file aligned line by line (ATIS ``seq.in`` + ``label``).

    ``name`` is the id prefix (default: the text file's stem); ``line`` is the line number.
    """
    text_path, label_path = Path(text_file), Path(label_file)
    table = _read_lines_pair(text_path, label_path, encoding)
    prefix = name or text_path.stem
    rules = _rows.RowRules(
        ["text"], ["label"], ml_sep=multi_label_separator, multi_label=multi_label
    )
    frame, gone = _rows.to_frame(text_path, table, prefix, rules)
    sets_sep = (multi_label_separator or DEFAULT_SET_SEPARATOR) if multi_label == "sets" else None
    _check_classes([label_path], frame, ["label"], min_classes, sets_sep)
    report = {
        "files": [
            {
                "path": str(text_path),
                "labels": str(label_path),
                "format": "lines",
                "rows_read": len(table.lines),
                "rows": len(frame),
            }
        ],
        "rows_read": len(table.lines),
        "rows": len(frame),
        "classes": _n_classes(frame, sets_sep),
        "removed": _removed_summary(gone),
    }
    return LoadResult(frame=frame[FRAME_COLUMNS], report=report, removed=gone)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Human-readable lines for a load report: rows read and kept, and each removal with lines."""
    out = [
        f"read {report['rows_read']:,} rows, kept {report['rows']:,} in {report['classes']} classes"
    ]
    for reason, info in report.get("removed", {}).items():
        more = ", ..." if info["count"] > len(info["first"]) else ""
        out.append(
            f"removed {info['count']:,} rows with {reason.replace('_', ' ')}: "
            f"{', '.join(info['first'])}{more}"
        )
    return out


# ---------------------------------------------------------------------------------------------


def _read(path, fmt, texts, labels, id_column, column_names, skip, encoding, split):
    wanted = list(dict.fromkeys(texts + labels + ([id_column] if id_column else [])))
    if fmt == "lines":
        table = _read_lines_pair(*_line_files(path), encoding)
        table.values = {c: table.values["label" if c in labels else "text"] for c in wanted}
    else:
        table = read_columns(path, fmt, wanted, column_names=column_names, skip_rows=skip,
                             encoding=encoding, split=split)  # fmt: skip
    if not table.lines:
        raise DataError(f"{path}: empty file (a header but no rows)")
    return table


def _line_files(path: Path) -> tuple[Path, Path]:
    for text_name, label_name in (
        ("seq.in", "label"),
        ("text.txt", "labels.txt"),
        ("text", "label"),
    ):
        if (path / text_name).is_file() and (path / label_name).is_file():
            return path / text_name, path / label_name
    raise DataError(
        f"{path}: format 'lines' needs seq.in + label (or text.txt + labels.txt) in the directory"
    )


def _read_lines_pair(text_path: Path, label_path: Path, encoding: str) -> _readers.RawTable:
    for p in (text_path, label_path):
        if not p.is_file():
            raise DataError(f"{p}: file not found")
    lines, text_values = _readers.read_lines(text_path, encoding=encoding)
    _, label_values = _readers.read_lines(label_path, encoding=encoding)
    if not lines:
        raise DataError(f"{text_path}: empty file")
    if len(label_values) != len(text_values):
        raise DataError(
            f"{label_path}: {len(label_values)} lines, but {text_path} has "
            f"{len(text_values)}; the files must be aligned line by line"
        )
    return _readers.RawTable(
        columns=["text", "label"], lines=lines, values={"text": text_values, "label": label_values}
    )


def _id_prefixes(paths: list[Path]) -> list[str]:
    """File stems, made unique with the parent folder when two files share a stem."""
    stems = [p.name if p.is_dir() else p.stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    return [f"{p.parent.name}/{s}" for p, s in zip(paths, stems, strict=False)]


def _read_label_names(path: Path, encoding: str) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: label names file not found")
    _, names = _readers.read_lines(path, encoding=encoding)
    names = [n.strip() for n in names]
    if not names:
        raise DataError(f"{path}: label names file is empty")
    return names


def _n_classes(frame: pd.DataFrame, sets_sep: str | None) -> int:
    """Distinct labels: of the label strings, or of the labels inside the sets."""
    if sets_sep is None:
        return int(frame["label"].nunique())
    return len(label_counts(parse_sets(frame["label"], sets_sep)))


def _check_classes(
    paths: list[Path],
    frame: pd.DataFrame,
    labels: list[str],
    min_classes: int,
    sets_sep: str | None = None,
) -> None:
    where = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} files)"
    if sets_sep is not None:
        classes = list(label_counts(parse_sets(frame["label"], sets_sep)))
    else:
        classes = frame["label"].unique()
    if len(classes) < min_classes:
        only = f" ('{classes[0]}')" if len(classes) == 1 else ""
        raise DataError(
            f"{where}: label column {_names(labels)} has {len(classes)} class{only} "
            f"after removing empty rows; a classifier needs at least {min_classes}"
        )


def _names(columns: list[str]) -> str:
    return " + ".join(f"'{c}'" for c in columns)


def _removed_summary(gone: pd.DataFrame) -> dict[str, Any]:
    out = {}
    for reason in ("empty_text", "empty_label", "multi_label"):
        rows = gone[gone["reason"] == reason]
        if len(rows):
            out[reason] = {
                "count": len(rows),
                "first": [
                    f"{Path(f).name}:{n}"
                    for f, n in zip(rows["file"][:_SHOWN], rows["line"][:_SHOWN], strict=False)
                ],
            }
    return out

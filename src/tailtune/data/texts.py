"""Unlabelled texts for prediction, read by the same checked readers as training data.

``tailtune predict --input`` reads CSV, TSV, JSONL, Parquet, a ``datasets`` directory or a plain
text file (one text per line) through :mod:`tailtune.data._readers`, so a bad byte, a malformed
JSON line or an unclosed quote gives the same one-line error, with the file and line, as
``tailtune train`` does. Rows with an empty text are set aside and reported with their lines.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from tailtune.data import _readers
from tailtune.data._formats import COLUMN_FORMATS, read_columns, resolve_format
from tailtune.errors import DataError

__all__ = ["TextsResult", "check_encoding", "load_texts"]

_SHOWN = 10


@dataclass
class TextsResult:
    """Texts in file order with the line each starts on, and the lines of empty rows."""

    texts: list[str]
    lines: list[int]
    empty_lines: list[int] = field(default_factory=list)
    format: str = "auto"


def check_encoding(encoding: str, where: str = "data.encoding") -> None:
    """Raise DataError when Python does not know ``encoding`` (e.g. a typo like utf-99)."""
    try:
        codecs.lookup(encoding)
    except (LookupError, ValueError):  # ValueError: a NUL or a lone surrogate in the name
        raise DataError(
            f"{where}: unknown encoding '{encoding}' (e.g. utf-8, latin-1, cp1252, utf-16)"
        ) from None


def load_texts(
    path: str | Path,
    *,
    format: str = "auto",
    text_columns: list[str] | tuple[str, ...] | str = ("text",),
    text_separator: str = "\n",
    column_names: list[str] | None = None,
    skip_rows: int = 0,
    encoding: str = "utf-8",
    split: str | None = None,
) -> TextsResult:
    """Read the text column(s) of one file; ``format`` as in :func:`load_table`, plus ``text``.

    A ``.txt`` file (or ``format="text"``) holds one text per line; blank lines are not records.
    Several text columns are joined by ``text_separator``.
    """
    p = Path(path)
    check_encoding(encoding)
    if isinstance(skip_rows, (list, tuple)):
        raise DataError(f"{p}: skip_rows is a list {list(skip_rows)}; give one number for one file")
    texts = [text_columns] if isinstance(text_columns, str) else list(text_columns)
    fmt = resolve_format(p, format, ("text", *COLUMN_FORMATS, "lines"))
    if fmt == "lines":
        raise DataError(f"{p}: format '{fmt}' holds labelled pairs; predict reads one text file")
    if fmt == "text":
        if p.is_file() and p.stat().st_size == 0:
            raise DataError(f"{p}: empty file")
        lines, values = _readers.read_lines(p, encoding=encoding, skip_rows=skip_rows)
        table = _readers.RawTable(columns=["text"], lines=lines, values={"text": values})
        texts = ["text"]
    else:
        table = read_columns(p, fmt, texts, column_names=column_names, skip_rows=skip_rows,
                             encoding=encoding, split=split)  # fmt: skip
    out = TextsResult(texts=[], lines=[], format=fmt)
    for i, line in enumerate(table.lines):
        parts = (_as_text(table.values[c][i]) for c in texts)
        text = text_separator.join(t for t in parts if t.strip())
        if text.strip():
            out.texts.append(text)
            out.lines.append(line)
        else:
            out.empty_lines.append(line)
    if not out.texts:
        what = "has no lines" if fmt == "text" else f"has no non-empty text in {texts}"
        raise DataError(f"{p}: empty file ({what})")
    return out


def empty_rows_line(path: str | Path, result: TextsResult) -> str | None:
    """One line naming the rows set aside for an empty text, or None when there were none."""
    if not result.empty_lines:
        return None
    shown = ", ".join(str(n) for n in result.empty_lines[:_SHOWN])
    more = ", ..." if len(result.empty_lines) > _SHOWN else ""
    return (
        f"{Path(path).name}: skipped {len(result.empty_lines)} rows with an empty text "
        f"(lines {shown}{more})"
    )


def _as_text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)

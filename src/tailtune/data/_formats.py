"""Which reader a file goes to: its format from the suffix (or as given), then one dispatch.

Training data (:func:`tailtune.data.load_table`) and texts to predict
(:func:`tailtune.data.texts.load_texts`) both go through here, so a format means the same reader,
the same options and the same errors for both.
"""

from __future__ import annotations

from pathlib import Path

from tailtune.data import _readers
from tailtune.errors import DataError

__all__ = ["COLUMN_FORMATS", "SUFFIX_FORMAT", "read_columns", "resolve_format", "suffix_format"]

SUFFIX_FORMAT = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "text",
    ".text": "text",
}
"""The format a file suffix names (``text``: one text per line, unlabelled)."""

COLUMN_FORMATS = ("csv", "tsv", "jsonl", "parquet", "hf")
"""Formats whose records have named columns (:func:`read_columns`)."""


def suffix_format(path: str | Path) -> str | None:
    """The format ``path``'s suffix names, or None for a suffix no format claims."""
    return SUFFIX_FORMAT.get(Path(path).suffix.lower())


def resolve_format(path: Path, fmt: str, allowed: tuple[str, ...]) -> str:
    """The format to read ``path`` with: ``fmt`` when given, else by suffix (a directory is a
    ``datasets`` directory, or line-aligned files when it holds ``seq.in``).

    ``allowed`` are the formats the caller reads; anything else is one DataError line.
    """
    if not path.exists():
        raise DataError(f"{path}: file not found")
    names = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    if fmt != "auto":
        if fmt not in allowed:
            raise DataError(f"format: got '{fmt}', expected auto, {names}")
        return fmt
    if path.is_dir():
        return "lines" if (path / "seq.in").exists() else "hf"
    found = suffix_format(path)
    if found not in allowed:
        raise DataError(
            f"{path}: cannot tell the format from the suffix '{path.suffix}'; set format to {names}"
        )
    return found


def read_columns(
    path: Path,
    fmt: str,
    wanted: list[str],
    *,
    column_names: list[str] | None = None,
    skip_rows: int = 0,
    encoding: str = "utf-8",
    split: str | None = None,
) -> _readers.RawTable:
    """The ``wanted`` columns of a file in one of :data:`COLUMN_FORMATS`."""
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    if fmt in ("csv", "tsv"):
        return _readers.read_delimited(
            path,
            wanted,
            delimiter="," if fmt == "csv" else "\t",
            column_names=column_names,
            skip_rows=skip_rows,
            encoding=encoding,
        )
    if fmt == "jsonl":
        return _readers.read_jsonl(path, wanted, encoding=encoding, skip_rows=skip_rows)
    if fmt == "parquet":
        return _readers.read_parquet(path, wanted)
    if fmt == "hf":
        return _readers.read_hf(path, wanted, split=split)
    raise ValueError(f"read_columns: {fmt!r} is not one of {COLUMN_FORMATS}")

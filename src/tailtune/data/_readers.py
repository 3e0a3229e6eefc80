"""Format readers: each turns one file into a :class:`RawTable` of the columns asked for.

Readers know nothing about labels or texts; they only find columns, report the physical line
each record starts on, and raise :class:`DataError` naming the file and the line when the input
is malformed. CSV/TSV go through the standard ``csv`` module on lines decoded one at a time, so
an undecodable byte and a bad row are both reported with their physical line number.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailtune.errors import DataError

# A narrative with an unclosed quote would otherwise hit csv's 128 KiB field limit and be
# reported where reading stopped; with a larger limit the row is reported where it starts.
_FIELD_LIMIT = 1 << 28


@dataclass
class RawTable:
    """Columns read from one file: the record start lines and one value list per column."""

    columns: list[str]  # every column the file has
    lines: list[int]  # 1-based physical line (or row number) where each record starts
    values: dict[str, list[Any]]  # only the requested columns
    features: dict[str, Any] | None = None  # datasets features (for ClassLabel names)


def read_delimited(
    path: Path,
    wanted: list[str],
    *,
    delimiter: str,
    column_names: list[str] | None,
    skip_rows: int,
    encoding: str,
) -> RawTable:
    """Read CSV/TSV keeping only ``wanted`` columns; every row must have the header's width."""
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    raw: list[str] = []  # the physical lines of the record being read
    reader = csv.reader(_kept(_decoded_lines(path, encoding, skip_rows), raw), delimiter=delimiter)
    header = list(column_names) if column_names else None
    lines: list[int] = []
    rows: list[list[str]] = []
    prev = 0  # lines consumed before the current record
    try:
        for row in reader:
            start, prev = skip_rows + prev + 1, reader.line_num
            last, raw[:] = raw[:], []
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a record
            if header is None:
                header = [h.strip() for h in row]
                idx = _column_indices(path, header, wanted, single_field=len(row) == 1)
                continue
            if len(row) != len(header):
                hint = (
                    " (a quote opened on this line may not be closed)"
                    if len(row) < len(header) and skip_rows + prev > start
                    else ""
                )
                raise DataError(
                    f"{path}: line {start}: expected {len(header)} fields, found {len(row)}{hint}"
                )
            lines.append(start)
            rows.append(row)
    except csv.Error as exc:
        raise DataError(
            f"{path}: line {skip_rows + reader.line_num}: malformed row ({exc})"
        ) from exc
    if rows and last and len(last) > 1 and not _closed(last, delimiter):
        # the csv module reads a quote left open at the end of the file as one long field
        raise DataError(
            f"{path}: line {lines[-1]}: a quote opened on this line is not closed before the "
            "end of the file"
        )
    if header is None:
        raise DataError(f"{path}: empty file (no header and no rows)")
    if column_names:
        idx = _column_indices(path, header, wanted)
    values = {c: [r[i] for r in rows] for c, i in zip(wanted, idx, strict=False)}
    return RawTable(columns=header, lines=lines, values=values)


def _kept(lines: Iterator[str], into: list[str]) -> Iterator[str]:
    for line in lines:
        into.append(line)
        yield line


def _closed(record_lines: list[str], delimiter: str) -> bool:
    """Whether a multi-line record parses with every quote closed (csv's strict mode)."""
    try:
        list(csv.reader(record_lines, delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    return True


def _decoded_lines(path: Path, encoding: str, skip: int) -> Iterator[str]:
    """Yield decoded physical lines after the first ``skip``, naming the line of a bad byte."""
    try:
        codec = codecs.lookup(encoding)
    except (LookupError, ValueError):  # ValueError: a NUL or a lone surrogate in the name
        raise DataError(
            f"{path}: unknown encoding '{encoding}' (e.g. utf-8, latin-1, cp1252, utf-16)"
        ) from None
    enc = "utf-8-sig" if codec.name == "utf-8" else encoding
    decoder = codecs.getincrementaldecoder(enc)(errors="strict")
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 4]
                raise DataError(
                    f"{path}: line {number}: bytes {bad!r} at column {exc.start + 1} are not "
                    f"valid {encoding}; set the file's encoding (e.g. encoding: latin-1)"
                ) from exc
            if number > skip:
                yield text


def _column_indices(
    path: Path, header: list[str], wanted: list[str], single_field: bool = False
) -> list[int]:
    missing = [c for c in wanted if c not in header]
    if missing:
        hint = ""
        if single_field:
            hint = " (the header line has one field: if the header is not on line 1, set skip_rows)"
        raise DataError(unknown_column_message(path, missing[0], header) + hint)
    return [header.index(c) for c in wanted]


def unknown_column_message(path: Path | str, column: str, columns: list[str]) -> str:
    """One line: the unknown column, the closest existing name and every column there is."""
    close = difflib.get_close_matches(column, columns, n=1, cutoff=0.5)
    if not close:  # case-insensitive second chance ("issue" for "Issue")
        lower = {c.lower(): c for c in columns}
        close = [lower[column.lower()]] if column.lower() in lower else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    shown = ", ".join(f"'{c}'" for c in columns[:30]) + (" ..." if len(columns) > 30 else "")
    return f"{path}: no column '{column}'{hint} (columns: {shown})"


def read_jsonl(path: Path, wanted: list[str], *, encoding: str, skip_rows: int) -> RawTable:
    """Read JSON Lines (one object per line); a column may be absent from some records."""
    lines: list[int] = []
    values: dict[str, list[Any]] = {c: [] for c in wanted}
    seen: dict[str, None] = {}
    for number, text in enumerate(_decoded_lines(path, encoding, skip_rows), skip_rows + 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DataError(
                f"{path}: line {number}: expected a JSON object, got {type(record).__name__}"
            )
        seen.update(dict.fromkeys(record))
        lines.append(number)
        for c in wanted:
            values[c].append(record.get(c))
    if not lines:
        raise DataError(f"{path}: empty file (no JSON records)")
    _column_indices(path, list(seen), wanted)
    return RawTable(columns=list(seen), lines=lines, values=values)


def read_parquet(path: Path, wanted: list[str]) -> RawTable:
    """Read the wanted columns of a Parquet file; ``line`` is the 1-based row number."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
    columns = list(pf.schema_arrow.names)
    _column_indices(path, columns, wanted)
    table = pf.read(columns=list(dict.fromkeys(wanted)))
    values = {c: table.column(c).to_pylist() for c in wanted}
    return RawTable(columns=columns, lines=list(range(1, table.num_rows + 1)), values=values)


def read_hf(path: Path, wanted: list[str], *, split: str | None) -> RawTable:
    """Read a 🤗 ``datasets`` dataset saved with ``save_to_disk`` (a Dataset or a DatasetDict,
    whose ``split`` is read: data.split, data.val_split or data.test_split)."""
    from tailtune._extras import require

    datasets = require("datasets", "reading a datasets directory")
    try:
        ds = datasets.load_from_disk(str(path))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: not a dataset saved with save_to_disk ({exc})") from exc
    return _dataset_table(_pick_split(ds, split, str(path), datasets), path, wanted)


def read_hub(name: str, wanted: list[str], *, split: str | None, config: str | None) -> RawTable:
    """Read a data set from the Hugging Face Hub by name (``datasets.load_dataset``), one
    ``split`` of its ``config``; offline, one line saying how to bring it here instead."""
    from tailtune._extras import require
    from tailtune._hub import unreachable_reason

    datasets = require("datasets", "reading a hub data set")
    shown = f"'{name}'" + (f" (config '{config}')" if config else "")
    why = unreachable_reason()
    if why is not None:
        args = repr(name) + (f", {config!r}" if config else "")
        raise DataError(
            f"data.path {shown}: a hub data set, and the Hub is not available ({why}); on a "
            f"connected machine run datasets.load_dataset({args}).save_to_disk('FOLDER'), copy "
            "FOLDER here and set data.path to it (data.format: auto)"
        )
    try:
        ds = datasets.load_dataset(name, config)
    except Exception as exc:  # noqa: BLE001 - unknown name, missing config, network: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise DataError(f"data.path {shown}: {type(exc).__name__}: {first}") from exc
    return _dataset_table(_pick_split(ds, split, f"data.path {shown}", datasets), name, wanted)


def _pick_split(ds, split: str | None, where: str, datasets):
    """The Dataset to read: ``ds`` itself, or its ``split`` when it is a DatasetDict."""
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds.keys())
        if split is None:
            raise DataError(
                f"{where}: a DatasetDict with splits {', '.join(names)}; name the one to read "
                "(data.split for data.path, data.val_split / data.test_split for validation / test)"
            )
        if split not in ds:
            close = difflib.get_close_matches(split, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise DataError(f"{where}: no split '{split}'{hint}; its splits: {', '.join(names)}")
        return ds[split]
    if split is not None:
        raise DataError(
            f"{where}: split '{split}' given, but it holds a single Dataset (no splits)"
        )
    return ds


def _dataset_table(ds, where, wanted: list[str]) -> RawTable:
    _column_indices(where, list(ds.column_names), wanted)
    values = {c: list(ds[c]) for c in dict.fromkeys(wanted)}
    return RawTable(
        columns=list(ds.column_names),
        lines=list(range(1, ds.num_rows + 1)),
        values={c: values[c] for c in wanted},
        features=dict(ds.features),
    )


def read_lines(path: Path, *, encoding: str, skip_rows: int = 0) -> tuple[list[int], list[str]]:
    """Physical lines of a plain text file (line numbers, texts without the newline)."""
    out = [t.rstrip("\r\n") for t in _decoded_lines(path, encoding, skip_rows)]
    while out and not out[-1].strip():
        out.pop()  # a trailing blank line is not a record
    return list(range(skip_rows + 1, skip_rows + 1 + len(out))), out

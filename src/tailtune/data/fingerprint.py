"""What a run trained on, as hashes a reader can check: the source files and the training rows.

``file_digest`` is the SHA-256 of a file's bytes (of every file under a folder, such as a
``datasets`` save, in path order), so ``sha256sum train.csv`` confirms a copy is the same file.
``rows_digest`` is the SHA-256 of the training rows themselves (text and label, sorted), which
stays the same across file formats and row orders and changes with any edited, added or dropped
row: the hash a model card quotes for "the training data".
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["file_digest", "rows_digest", "data_fingerprint"]

_CHUNK = 1 << 20


def file_digest(path: str | Path) -> dict[str, Any]:
    """``{path, bytes, sha256}`` of a file, or of a folder's files taken in sorted path order."""
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    h, size = hashlib.sha256(), 0
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode("utf-8") + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
                size += len(chunk)
    return {"path": str(p.resolve()), "bytes": size, "sha256": h.hexdigest()}


def rows_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the (text, label) rows of ``frame``, order-independent."""
    lines = sorted(
        f"{label}\t{text}" for text, label in zip(frame["text"], frame["label"], strict=True)
    )
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def data_fingerprint(paths: list[str], train: pd.DataFrame) -> dict[str, Any]:
    """The record a run keeps: each existing source path's digest and the training rows' one."""
    files = [file_digest(p) for p in paths if Path(p).exists()]
    return {"files": files, "train_rows": len(train), "train_sha256": rows_digest(train)}

"""Writing an export folder atomically, and the ``export.json`` that describes it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from tailtune._atomic import write_text
from tailtune.errors import TailtuneError

__all__ = ["EXPORT_JSON", "staged_dir", "write_export_json", "read_export_json"]

EXPORT_JSON = "export.json"


@contextlib.contextmanager
def staged_dir(out_dir: str | Path):
    """Yield a hidden sibling folder; on success it becomes ``out_dir`` (never half-written).

    ``out_dir`` may not exist yet or be empty: an export never mixes with older files.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TailtuneError(f"{out}: already exists and is not empty; choose a new output folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_export_json(folder: Path, report: dict[str, Any]) -> None:
    """``export.json``: format, source run, labels, what was folded in, agreement figures."""
    write_text(Path(folder) / EXPORT_JSON, json.dumps(report, indent=2, default=str) + "\n")


def read_export_json(folder: str | Path) -> dict[str, Any]:
    """The ``export.json`` of an export folder, or a one-line error."""
    p = Path(folder) / EXPORT_JSON
    if not p.is_file():
        raise TailtuneError(f"{Path(folder)}: no {EXPORT_JSON} (not a tailtune export folder)")
    return json.loads(p.read_text(encoding="utf-8"))

"""Writing an export folder atomically, and the ``export.json`` that describes it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from tailtune._atomic import WriteError, refusal, write_text
from tailtune.errors import TailtuneError

__all__ = ["EXPORT_JSON", "check_out_dir", "staged_dir", "write_export_json", "read_export_json"]

EXPORT_JSON = "export.json"


def check_out_dir(out_dir: str | Path, run_path: str | Path, force: bool = False) -> Path:
    """The output policy of every command, for a folder: never the run (or inside it, or
    holding it), a non-empty folder replaced only with ``--force``, and a parent that can be
    written. Checked before any work."""
    from tailtune.workflow.apply import check_output_path

    out, run = Path(out_dir), Path(run_path)
    if out.exists() and not out.is_dir():
        raise TailtuneError(f"-o {out}: is a file; give a folder for the export")
    if run.exists():
        o, r = out.resolve(), run.resolve()
        if o == r or r in o.parents or o in r.parents:
            raise TailtuneError(f"-o {out}: overlaps the run {run}; choose another output folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise TailtuneError(f"-o {out}: already exists and is not empty; add --force to replace it")
    check_output_path(out / EXPORT_JSON, "-o")  # the parent can be written (or created)
    return out


@contextlib.contextmanager
def staged_dir(out_dir: str | Path, force: bool = False):
    """Yield a hidden sibling folder; on success it becomes ``out_dir`` (never half-written).

    ``out_dir`` may not exist yet or be empty; a non-empty one is replaced only with ``force``,
    and only once the new export is complete (the old one is moved aside, then removed), so an
    export never mixes with older files and a failed export leaves the old one as it was.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise TailtuneError(f"{out}: already exists and is not empty; add --force to replace it")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        raise WriteError(f"could not write {out}: {refusal(exc)}; nothing was written") from exc
    try:
        yield tmp
        if out.exists():
            os.rename(out, old)
        tmp.rename(out)
    except OSError as exc:
        if old.exists() and not out.exists():
            os.rename(old, out)  # put the previous export back
        kept = f"{out} is unchanged" if out.exists() else f"nothing was written to {out}"
        raise WriteError(f"could not write {out}: {refusal(exc)}; {kept}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def write_export_json(folder: Path, report: dict[str, Any]) -> None:
    """``export.json``: format, source run, labels, what was folded in, agreement figures."""
    write_text(Path(folder) / EXPORT_JSON, json.dumps(report, indent=2, default=str) + "\n")


def read_export_json(folder: str | Path) -> dict[str, Any]:
    """The ``export.json`` of an export folder, or a one-line error."""
    p = Path(folder) / EXPORT_JSON
    if not p.is_file():
        raise TailtuneError(f"{Path(folder)}: no {EXPORT_JSON} (not a tailtune export folder)")
    return json.loads(p.read_text(encoding="utf-8"))

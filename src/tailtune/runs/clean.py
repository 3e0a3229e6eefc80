"""Unfinished run folders: what an interrupted or killed run left, and cleaning up the abandoned.

A run is written under ``<runs_dir>/.tmp-<name>-<stamp>-<pid>`` and renamed when it finishes
(``RunWriter``); a run stopped by Ctrl-C or SIGTERM is kept as ``.interrupted-<name>-<stamp>``.
A ``.tmp`` folder whose process is alive is a run *in progress*; one whose process is gone
(``kill -9``, out of memory, a lost machine) is *interrupted*, like an ``.interrupted`` folder.
An interrupted folder with a complete checkpoint (``checkpoints/step-N/state.json``) can be
resumed; one that is not resumed is *abandoned* and only takes disk space (a MiniLM fine-tune
leaves hundreds of MB). :func:`find_abandoned` lists them, :func:`remove_abandoned` deletes them.
Folders of experiment jobs (``.jobs-<pid>``) whose driver is gone are abandoned too.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tailtune.errors import TailtuneError
from tailtune.runs.index import pid_alive, require_runs_dir

__all__ = [
    "Unfinished",
    "find_abandoned",
    "find_unfinished",
    "parse_age",
    "remove_abandoned",
    "unfinished_rows",
    "unfinished_table",
]

_PATTERNS = (
    ("tmp", re.compile(r"^\.tmp-(?P<name>.+?)-(?P<stamp>\d{8}-\d{6})-(?P<pid>\d+)$")),
    (
        "interrupted",
        re.compile(r"^\.interrupted-(?P<name>.+?)-(?P<stamp>\d{8}-\d{6})(?:-(?P<pid>\d+))?$"),
    ),  # fmt: skip
    ("jobs", re.compile(r"^\.jobs-(?P<pid>\d+)$")),
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class Unfinished:
    """One folder a run (or an experiment's job list) left behind without finishing."""

    path: Path
    kind: str  # tmp | interrupted | jobs
    name: str  # the run's name ('' for job folders)
    pid: int | None  # the process that wrote it, when the folder name records one
    in_progress: bool  # that process is still alive (on this machine)
    step: int | None  # newest complete checkpoint
    size: int  # bytes
    modified: float  # newest mtime inside (epoch seconds)

    @property
    def resumable(self) -> bool:
        """Not in progress and holds a complete checkpoint to continue from."""
        return not self.in_progress and self.step is not None

    @property
    def state(self) -> str:
        return "in progress" if self.in_progress else "interrupted"


def find_unfinished(runs_dir: str | Path) -> list[Unfinished]:
    """Every unfinished folder under ``runs_dir`` (experiment sub-folders included), oldest first."""
    root = require_runs_dir(runs_dir)
    found: list[Unfinished] = []
    for dirpath, dirnames, filenames in os.walk(root):
        if "metrics.json" in filenames and "config.yaml" in filenames and Path(dirpath) != root:
            dirnames[:] = []  # a finished run's own folders are not runs
            continue
        keep = []
        for d in sorted(dirnames):
            item = _classify(Path(dirpath) / d)
            if item is not None:
                found.append(item)
            elif not d.startswith("."):
                keep.append(d)
        dirnames[:] = keep
    return sorted(found, key=lambda u: u.modified)


def unfinished_table(runs_dir: str | Path) -> pd.DataFrame:
    """:func:`find_unfinished` as the table ``tailtune runs list`` shows under the finished runs."""
    items = [u for u in find_unfinished(runs_dir) if u.kind != "jobs"]
    return unfinished_rows(items, runs_dir)


def unfinished_rows(items: list[Unfinished], runs_dir: str | Path) -> pd.DataFrame:
    """One display row per folder: name, state, step, resumable, size, age, pid, folder."""
    rows = [
        {
            "name": u.name or "(experiment jobs)", "state": u.state, "step": u.step,
            "resumable": "yes" if u.resumable else "no", "size": human_size(u.size),
            "age": human_age(time.time() - u.modified), "pid": u.pid,
            "folder": _rel(Path(runs_dir), u.path),
        }
        for u in items
    ]  # fmt: skip
    cols = ["name", "state", "step", "resumable", "size", "age", "pid", "folder"]
    return pd.DataFrame(rows, columns=cols)


def find_abandoned(runs_dir: str | Path, older_than: float | str | None = None) -> list[Unfinished]:
    """Unfinished folders whose process is gone, untouched for at least ``older_than``.

    ``older_than`` is seconds or a duration like ``"30m"``, ``"12h"``, ``"1d"`` (None: any age).
    A folder whose writer is still alive is never listed, however old.
    """
    limit = parse_age(older_than) if isinstance(older_than, str) else float(older_than or 0)
    now = time.time()
    return [u for u in find_unfinished(runs_dir) if not u.in_progress and now - u.modified >= limit]


def remove_abandoned(items: list[Unfinished]) -> list[Unfinished]:
    """Delete the given abandoned folders; returns those removed.

    Each one is checked again just before deletion: a folder whose process came back to life
    (or that was resumed and renamed meanwhile) is left alone.
    """
    removed = []
    for item in items:
        again = _classify(item.path) if item.path.exists() else None
        if again is None or again.in_progress:
            continue
        shutil.rmtree(item.path, ignore_errors=True)
        if not item.path.exists():
            removed.append(item)
    return removed


def parse_age(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"12h"``, ``"1d"``, ``"2w"`` (or a bare number of seconds) -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text))
    if not m:
        raise TailtuneError(
            f"--older-than '{text}': expected a duration like 90s, 30m, 12h, 1d or 2w"
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def human_size(n: int) -> str:
    """Bytes as ``512 B``, ``3.4 MB``, ``1.2 GB`` (powers of 1000, as ``du --si``)."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def human_age(seconds: float) -> str:
    """A duration as ``45s``, ``12m``, ``5h``, ``3d``."""
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def as_dicts(items: list[Unfinished], runs_dir: str | Path) -> list[dict[str, Any]]:
    """JSON-ready rows (``--json``)."""
    out = []
    for u in items:
        row = asdict(u)
        row.update(path=_rel(Path(runs_dir), u.path), resumable=u.resumable, state=u.state)
        out.append(row)
    return out


def _classify(path: Path) -> Unfinished | None:
    for kind, pattern in _PATTERNS:
        m = pattern.match(path.name)
        if m and path.is_dir():
            pid = int(m.group("pid")) if m.group("pid") else None
            try:
                alive = _in_progress(path, kind, pid)
                size, modified = _du(path)
                step = _newest_step(path)
            except FileNotFoundError:
                # its writer finished (renamed the folder) or cleaned it up while we looked:
                # another worker's run, not a leftover
                return None
            name = m.groupdict().get("name") or ""
            return Unfinished(path, kind, name, pid, alive, step, size, modified)
    return None


def _in_progress(path: Path, kind: str, pid: int | None) -> bool:
    """A live process trains in the folder: the run writer's lock, when it keeps one (``.lock``,
    held by ``flock`` while the writer lives), else the PID in the folder's name."""
    if kind != "jobs" and (path / ".lock").is_file():
        try:
            from tailtune.runs.writer import in_progress
        except ImportError:  # a writer without folder locks
            in_progress = None
        if in_progress is not None:
            return in_progress(path)
    # an .interrupted folder was handed over on purpose: its writer has stopped
    return kind != "interrupted" and pid is not None and pid_alive(pid)


def _newest_step(path: Path) -> int | None:
    """The step of the newest complete resumable checkpoint (``state.json`` is written last);
    a composite's stages keep theirs in sub-folders."""
    steps = []
    for ck in [*path.glob("checkpoints/step-*"), *path.glob("*/checkpoints/step-*")]:
        m = re.fullmatch(r"step-(\d+)", ck.name)
        if m and (ck / "state.json").is_file():
            steps.append(int(m.group(1)))
    return max(steps) if steps else None


def _du(path: Path) -> tuple[int, float]:
    total, newest = 0, path.stat().st_mtime
    for dirpath, _, filenames in os.walk(path):
        for f in filenames:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue  # removed while we looked
            total += st.st_size
            newest = max(newest, st.st_mtime)
    return total, newest


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)

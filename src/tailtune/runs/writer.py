"""Write a run directory atomically: everything goes to a temporary folder that is renamed at the end.

A run trains in ``<runs_dir>/.tmp-<name>-<stamp>-<pid>`` and holds an exclusive ``flock`` on its
``.lock`` file for as long as its process lives (the kernel drops it on any death, kill -9
included). Readers ignore dot-folders, so an unfinished run never looks finished. When training
stops on Ctrl-C or SIGTERM the folder becomes ``.interrupted-<name>-<stamp>``; a folder killed
outright stays ``.tmp-…`` with no lock held. Both are *unfinished runs*
(:func:`unfinished_runs`), and ``train.resume=true`` continues the newest of them from its
newest complete checkpoint: the folder is claimed (its lock taken), renamed to this process's
``.tmp-…`` name, and keeps its stamp, so the finished run is named as if nothing had happened.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailtune import _atomic
from tailtune.errors import TailtuneError
from tailtune.runs import layout

try:  # POSIX; elsewhere liveness falls back to the PID in the folder name
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = [
    "RunWriter",
    "Unfinished",
    "in_progress",
    "latest_interrupted",
    "unfinished_runs",
    "writable_runs_dir",
    "write_json_atomic",
]


def writable_runs_dir(runs_dir: str | Path, option: str = "runs_dir") -> Path:
    """``runs_dir``, created when missing, or one line saying why runs cannot be written there.

    Checked before any work, so a runs folder that is a file, sits on a read-only mount or lacks
    permission fails in a second instead of after training. A real write is tried (a hidden probe
    file): permission bits say nothing for root, and only the write shows a read-only mount.
    """
    root = Path(runs_dir)
    if root.exists() and not root.is_dir():
        raise TailtuneError(f"{option} {root}: is a file, not a folder; choose another runs folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = _atomic.refusal(exc)
        raise TailtuneError(
            f"{option} {root}: runs cannot be written there ({reason}); "
            "choose another runs folder (--set runs_dir=PATH)"
        ) from exc
    return root


class RunWriter:
    """Context manager owning a run's temporary directory; ``final_path`` exists only on success.

    ``resume_from`` (an unfinished run's folder) is carried on instead of a new folder. On an
    exception the folder is kept as ``.interrupted-…`` when the exception says it is resumable
    or when the folder holds a checkpoint (hours of training are never deleted over one error);
    otherwise it is removed.
    """

    def __init__(
        self,
        runs_dir: str | Path,
        name: str,
        *,
        stamp: str | None = None,
        resume_from: str | Path | None = None,
    ):
        self.runs_dir = Path(runs_dir)
        self.name = _safe_name(name)
        self.resume_from = Path(resume_from) if resume_from is not None else None
        parsed = layout.parse_unfinished(self.resume_from) if self.resume_from else None
        self.stamp = stamp or (parsed.stamp if parsed else time.strftime("%Y%m%d-%H%M%S"))
        self.tmp = self.runs_dir / layout.tmp_folder(self.name, self.stamp, os.getpid())
        self.final_path: Path | None = None
        self.kept_path: Path | None = None
        self._lock: int | None = None

    def __enter__(self) -> RunWriter:
        writable_runs_dir(self.runs_dir)
        if self.resume_from is not None and self.resume_from.resolve() == self.tmp.resolve():
            self._lock = _claim(self.tmp)
        elif self.resume_from is not None:
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
            self._lock = _claim(self.resume_from)  # before the rename: nobody else takes it
            try:
                os.rename(self.resume_from, self.tmp)  # carry on in the interrupted run's folder
            except OSError:
                if self._lock is not None:
                    os.close(self._lock)
                raise
        else:
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
            self.tmp.mkdir()
            self._lock = _claim(self.tmp)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.final_path = self._rename()
            elif _keep(exc_type, exc, self.tmp):
                # Keep what an interrupted training saved, under a name readers skip, so
                # `train.resume=true` can pick it up.
                self.kept_path = _free(
                    self.runs_dir / layout.interrupted_folder(self.name, self.stamp)
                )
                os.rename(self.tmp, self.kept_path)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        finally:
            if self._lock is not None:
                os.close(self._lock)  # releases the flock
                self._lock = None

    def _rename(self) -> Path:
        _drop_partial_checkpoints(self.tmp)
        base = self.runs_dir / f"{self.name}-{self.stamp}"
        target, n = base, 1
        while True:
            try:
                # os.rename onto a non-existent path is atomic; a clash means a run started in the
                # same second, so take the next suffix instead of overwriting it.
                if target.exists():
                    raise FileExistsError(target)
                os.rename(self.tmp, target)
                return target
            except FileExistsError:
                n += 1
                target = Path(f"{base}-{n}")

    # -- writers ---------------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        """Absolute path of a file inside the (temporary) run directory."""
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_json(self, rel: str, obj: Any) -> Path:
        return _atomic.write_text(
            self.path(rel), json.dumps(obj, indent=2, default=_json_default) + "\n"
        )

    def write_text(self, rel: str, text: str) -> Path:
        return _atomic.write_text(self.path(rel), text)

    def write_csv(self, rel: str, frame: pd.DataFrame) -> Path:
        return _atomic.write_csv(frame, self.path(rel))

    def write_arrays(self, rel: str, **arrays: np.ndarray) -> Path:
        p = self.path(rel)
        # through an open handle: given a path, numpy would append ".npz" to the temporary name
        with _atomic.atomic_path(p) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return p


def _drop_partial_checkpoints(run: Path) -> None:
    """Remove half-written checkpoint folders (``.tmp-…``, ``.old-…``) before a run is finished.

    A crash or a full disk during a checkpoint write can leave one behind; a finished run must
    not carry it (it holds disk and is never read).
    """
    ckpts = run / layout.CHECKPOINTS
    if ckpts.is_dir():
        for p in ckpts.iterdir():
            if p.name.startswith((".tmp-", ".old-")) and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.startswith((".tmp-", ".old-")):
                p.unlink(missing_ok=True)


@dataclass(frozen=True)
class Unfinished:
    """An unfinished run's folder: who (if anyone) trains in it and how far it got."""

    path: Path
    name: str
    stamp: str
    pid: int | None  # the PID in a .tmp folder's name; None once interrupted
    in_progress: bool  # a live process holds it: not resumable now
    step: int | None  # newest complete checkpoint (optimizer steps), None without one
    checkpoint_mtime: float | None


def unfinished_runs(runs_dir: str | Path, name: str | None = None) -> list[Unfinished]:
    """``.tmp-*`` and ``.interrupted-*`` folders under ``runs_dir`` (of ``name``), best first.

    Best = resumable (not in progress), then with the newest complete checkpoint, then newest.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        info = layout.parse_unfinished(p)
        if info is None or not p.is_dir() or (name is not None and info.name != _safe_name(name)):
            continue
        step, mtime = _newest_checkpoint(p)
        found.append(Unfinished(p, info.name, info.stamp, info.pid, in_progress(p), step, mtime))

    def rank(u: Unfinished):
        return (not u.in_progress, u.checkpoint_mtime is not None, u.checkpoint_mtime or 0.0,
                u.path.stat().st_mtime)  # fmt: skip

    return sorted(found, key=rank, reverse=True)


def latest_interrupted(runs_dir: str | Path, name: str) -> Path | None:
    """The unfinished run folder of ``name`` that a resume continues (None if there is none)."""
    for u in unfinished_runs(runs_dir, name):
        if not u.in_progress:
            return u.path
    return None


def in_progress(folder: str | Path) -> bool:
    """Whether a live process trains in ``folder`` (its lock is held, or, for a folder without a
    lock file, the PID in its name is alive)."""
    folder = Path(folder)
    lock = folder / layout.LOCK
    if fcntl is not None and lock.is_file():
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # closing drops the probe's own shared lock
        return False
    info = layout.parse_unfinished(folder)
    return info is not None and info.pid is not None and _pid_alive(info.pid)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write JSON next to ``path`` and rename over it, so readers never see half a file."""
    _atomic.write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _claim(folder: Path) -> int | None:
    """Take the folder's lock (held until the returned descriptor is closed, or the process dies)."""
    if fcntl is None:  # pragma: no cover
        return None
    fd = os.open(folder / layout.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    for _ in range(20):  # another process may be probing the lock for a moment
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            time.sleep(0.05)
    else:
        os.close(fd)
        raise TailtuneError(f"{folder}: another process is training in this folder")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _keep(exc_type, exc, folder: Path) -> bool:
    if getattr(exc, "resumable", False) or exc_type is KeyboardInterrupt:
        return True
    return _newest_checkpoint(folder)[0] is not None


def _newest_checkpoint(folder: Path) -> tuple[int | None, float | None]:
    """Step and mtime of the newest complete checkpoint in a run folder (or a stage's sub-folder)."""
    best: tuple[int | None, float | None] = (None, None)
    pattern = f"{layout.CHECKPOINTS}/step-*/{layout.CKPT_STATE}"
    for state in [*folder.glob(pattern), *folder.glob(f"*/{pattern}")]:
        step, mtime = layout.step_of(state.parent), state.stat().st_mtime
        if step is not None and (best[1] is None or mtime > best[1]):
            best = (step, mtime)
    return best


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _free(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``… when it is taken."""
    n, target = 1, path
    while target.exists():
        n += 1
        target = Path(f"{path}-{n}")
    return target


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip())
    return keep.strip(".-") or "run"

"""Write a run directory atomically: everything goes to a temporary folder that is renamed at the end.

An interrupted or failed run leaves no directory that looks finished: the temporary folder
(``<runs_dir>/.tmp-<name>-...``) is removed on failure, and readers ignore dot-folders.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RunWriter", "latest_interrupted", "write_json_atomic"]


class RunWriter:
    """Context manager owning a run's temporary directory; ``final_path`` exists only on success."""

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
        self.stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
        self.tmp = self.runs_dir / f".tmp-{self.name}-{self.stamp}-{os.getpid()}"
        self.resume_from = Path(resume_from) if resume_from is not None else None
        self.final_path: Path | None = None
        self.kept_path: Path | None = None

    def __enter__(self) -> RunWriter:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        if self.resume_from is not None:
            os.rename(self.resume_from, self.tmp)  # carry on in the interrupted run's folder
        else:
            self.tmp.mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            if getattr(exc, "resumable", False) or exc_type is KeyboardInterrupt:
                # Keep what an interrupted training saved, under a name readers skip, so
                # `train.resume=true` can pick it up; everything else is removed.
                self.kept_path = self.runs_dir / f".interrupted-{self.name}-{self.stamp}"
                os.rename(self.tmp, self.kept_path)
                return
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        self.final_path = self._rename()

    def _rename(self) -> Path:
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
        p = self.path(rel)
        p.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n", encoding="utf-8")
        return p

    def write_text(self, rel: str, text: str) -> Path:
        p = self.path(rel)
        p.write_text(text, encoding="utf-8")
        return p

    def write_csv(self, rel: str, frame: pd.DataFrame) -> Path:
        p = self.path(rel)
        frame.to_csv(p, index=False, lineterminator="\n")
        return p

    def write_arrays(self, rel: str, **arrays: np.ndarray) -> Path:
        p = self.path(rel)
        np.savez_compressed(p, **arrays)
        return p


def latest_interrupted(runs_dir: str | Path, name: str) -> Path | None:
    """The most recent interrupted run folder of ``name`` under ``runs_dir`` (None if none)."""
    found = sorted(Path(runs_dir).glob(f".interrupted-{_safe_name(name)}-*"))
    return found[-1] if found else None


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write JSON next to ``path`` and rename over it, so readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n", encoding="utf-8")
    os.replace(tmp, path)


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


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip())
    return keep.strip(".-") or "run"

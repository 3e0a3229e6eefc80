"""What a finished run keeps on disk, and how much that is.

While training, the loop keeps the newest ``train.keep_checkpoints`` resumable checkpoints and
the best evaluation's weights (``checkpoints/best/``). When the run finishes, the resumable
checkpoints are cut to the ones a user can still use: the newest (training can be continued
from it) and the one of the best evaluation (if still there); the rest are removed, unless
``train.keep_all_checkpoints`` is set (to score every kept step with
``evaluate --checkpoint all``). A 20-step MiniLM run otherwise carries every step's weights and
optimizer state (each about 270 MB).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from tailtune.runs import layout

__all__ = ["disk_usage", "prune_finished"]


def prune_finished(run_dir: str | Path, keep_all: bool = False) -> list[str]:
    """Remove the resumable checkpoints of a finished run but the newest and the best
    evaluation's; returns the names removed (none with ``keep_all``)."""
    root = Path(run_dir) / layout.CHECKPOINTS
    steps = sorted(
        (d for d in root.glob("step-*") if d.is_dir() and layout.step_of(d) is not None),
        key=layout.step_of,
    )
    if keep_all or len(steps) <= 1:
        return []
    keep = {steps[-1]}
    best = _best_step(Path(run_dir))
    keep |= {d for d in steps if layout.step_of(d) == best}
    removed = []
    for d in steps:
        if d not in keep:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    return removed


def disk_usage(run_dir: str | Path) -> dict[str, int]:
    """Bytes a run folder holds: ``total`` and its parts ``model``, ``checkpoints``, ``other``
    (files counted once, symbolic links not followed)."""
    run = Path(run_dir)
    parts = {"model": 0, "checkpoints": 0, "other": 0}
    for dirpath, _, files in os.walk(run):
        here = Path(dirpath)
        top = here.relative_to(run).parts[:1]
        part = {layout.MODEL: "model", layout.CHECKPOINTS: "checkpoints"}.get(
            top[0] if top else "", "other"
        )
        for name in files:
            p = here / name
            if not p.is_symlink():
                parts[part] += p.stat().st_size
    return {"total": sum(parts.values()), **parts}


def _best_step(run: Path) -> int | None:
    try:
        metrics: dict[str, Any] = json.loads((run / layout.METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # a refit run's "info" is the refit model's; the selection model's best step is kept aside
    info = (metrics.get("refit") or {}).get("selection_info") or metrics.get("info") or {}
    step = info.get("best_step")
    return int(step) if step else None

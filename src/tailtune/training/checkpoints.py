"""Checkpoints: resumable ones (model, optimizer, scheduler, loop state, RNG) and the best model.

Layout under ``work_dir/checkpoints``: ``step-000120/`` (resumable; the newest
``keep_checkpoints`` are kept) and ``best/model.pt`` (weights of the best evaluation). Each is
written to a temporary name and renamed, so an interruption never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np

from tailtune._extras import require

__all__ = [
    "capture_rng",
    "latest_checkpoint",
    "load_resumable",
    "load_weights",
    "prune_checkpoints",
    "restore_rng",
    "save_resumable",
    "save_weights",
]


def capture_rng() -> dict:
    """Python, numpy and torch (CPU and CUDA) generator states."""
    torch = require("torch")
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    """Inverse of :func:`capture_rng`."""
    torch = require("torch")
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_weights(path: Path, state_dict: dict) -> None:
    """Write a state dict to ``path`` atomically."""
    torch = require("torch")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state_dict, tmp)
    tmp.replace(path)


def load_weights(path: Path) -> dict:
    """Read a state dict written by :func:`save_weights` (tensors only, weights_only=True)."""
    torch = require("torch")
    return torch.load(path, map_location="cpu", weights_only=True)


def save_resumable(
    root: Path, step: int, *, model_state, optimizer, scheduler, state: dict, rng: dict
) -> Path:
    """Write ``root/step-NNNNNN`` with everything needed to continue the run exactly."""
    torch = require("torch")
    final = root / f"step-{step:06d}"
    tmp = root / f".tmp-step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(model_state, tmp / "model.pt")
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng},
        tmp / "trainer.pt",
    )
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete ``step-*`` directory, or None."""
    steps = sorted(p for p in root.glob("step-*") if (p / "state.json").is_file())
    return steps[-1] if steps else None


def load_resumable(path: Path, model, optimizer, scheduler) -> tuple[dict, dict]:
    """Load weights, optimizer and scheduler in place; return ``(loop state, rng state)``."""
    torch = require("torch")
    model.load_state_dict(load_weights(path / "model.pt"))
    # optimizer states hold python numbers and RNG tuples, so weights_only cannot apply;
    # these files are written by this run itself
    trainer = torch.load(path / "trainer.pt", map_location="cpu", weights_only=False)
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    return json.loads((path / "state.json").read_text(encoding="utf-8")), trainer["rng"]


def prune_checkpoints(root: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` resumable checkpoints."""
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in steps[: max(0, len(steps) - keep)]:
        shutil.rmtree(old, ignore_errors=True)

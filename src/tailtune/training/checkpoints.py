"""Checkpoints: resumable ones (weights, optimizer, scheduler, loop state, RNG) and the best model.

Layout under ``work_dir/checkpoints`` (names in :mod:`tailtune.runs.layout`): ``step-000120/``
(resumable; the newest ``keep_checkpoints`` are kept) and ``best/model.pt`` (weights of the best
evaluation). A resumable checkpoint is written into ``.tmp-step-…`` and renamed to its final name
only once every file is written and flushed, so a kill at any moment leaves either the complete
checkpoint or none. Everything is stored as data: tensors through ``torch.load(weights_only=True)``
and the loop's state and RNG states as JSON, so loading a checkpoint never runs code from it.

``TAILTUNE_FAULT`` (for fault-injection tests) names points where the process harms itself:
``kill@checkpoint-writing:8`` (SIGKILL after the weights of step 8 are written, before the
rename), ``kill@checkpoint-written:8``, ``kill@mid-step:13`` (after the first micro-batch of step
13), ``term@step:12`` (SIGTERM after step 12), ``enospc@checkpoint-writing:8`` (an OSError as if
the disk were full); several are separated by commas.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import threading
import warnings
from pathlib import Path

import numpy as np

from tailtune import _atomic
from tailtune._atomic import save_torch
from tailtune._extras import require
from tailtune.errors import TailtuneError
from tailtune.runs import layout

__all__ = [
    "CheckpointError",
    "capture_rng",
    "fault_point",
    "find_checkpoints",
    "load_resumable",
    "load_weights",
    "newest_usable",
    "prune_checkpoints",
    "restore_rng",
    "rng_from_data",
    "rng_to_data",
    "save_resumable",
    "save_weights",
    "stop_requested",
]


class CheckpointError(TailtuneError):
    """A checkpoint could not be written, or one found on disk cannot be used."""

    resumable = True  # a failed write keeps the run folder (and its older checkpoints)


# -- random generators --------------------------------------------------------------------------


def capture_rng() -> dict:
    """Python, numpy and torch (CPU and CUDA) generator states, as the libraries give them."""
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
    """Inverse of :func:`capture_rng` (also accepts :func:`rng_from_data` output)."""
    torch = require("torch")
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def rng_to_data(state: dict) -> dict:
    """Generator states as JSON-ready lists (no pickle needed to store them)."""
    version, internal, gauss = state["python"]
    kind, key, pos, has_gauss, cached = state["numpy"]
    data = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, np.asarray(key).tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": state["torch"].tolist(),
    }
    if "cuda" in state:
        data["cuda"] = [t.tolist() for t in state["cuda"]]
    return data


def rng_from_data(data: dict) -> dict:
    """Inverse of :func:`rng_to_data`."""
    torch = require("torch")
    version, internal, gauss = data["python"]
    kind, key, pos, has_gauss, cached = data["numpy"]
    state = {
        "python": (version, tuple(internal), gauss),
        "numpy": (kind, np.asarray(key, dtype=np.uint32), pos, has_gauss, cached),
        "torch": torch.tensor(data["torch"], dtype=torch.uint8),
    }
    if "cuda" in data:
        state["cuda"] = [torch.tensor(t, dtype=torch.uint8) for t in data["cuda"]]
    return state


# -- the best weights ---------------------------------------------------------------------------


def save_weights(path: Path, state_dict: dict) -> None:
    """Write a state dict to ``path`` atomically."""
    save_torch(
        state_dict, path, then="free space and run the same command with --set train.resume=true"
    )


def load_weights(path: Path) -> dict:
    """Read a state dict written by :func:`save_weights` (tensors only, weights_only=True)."""
    torch = require("torch")
    return torch.load(path, map_location="cpu", weights_only=True)


# -- resumable checkpoints ----------------------------------------------------------------------


def save_resumable(
    root: Path, step: int, *, model_state: dict, trainer_state: dict, state: dict
) -> Path:
    """Write ``root/step-NNNNNN`` atomically: weights, optimizer + scheduler, then the state.

    ``state.json`` is written last and records the size of the other files, so a checkpoint that
    was truncated afterwards is recognised. A write error (a full disk) removes the partial
    folder and raises :class:`CheckpointError`; older checkpoints are left as they were.
    """
    torch = require("torch")
    final = root / layout.step_dir(step)
    tmp = root / f".tmp-{final.name}-{os.getpid()}-{threading.get_ident()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(model_state, tmp / layout.CKPT_MODEL)
        fault_point("checkpoint-writing", step)
        torch.save(trainer_state, tmp / layout.CKPT_TRAINER)
        sizes = {n: (tmp / n).stat().st_size for n in (layout.CKPT_MODEL, layout.CKPT_TRAINER)}
        body = json.dumps({"step": step, "files": sizes, "loop": state})
        (tmp / layout.CKPT_STATE).write_text(body, encoding="utf-8")
        for name in (layout.CKPT_MODEL, layout.CKPT_TRAINER, layout.CKPT_STATE):
            _atomic.fsync_path(tmp / name)
        _atomic.fsync_path(tmp)
        if final.exists():  # the same step saved again (an interrupt right after an evaluation)
            old = root / f".old-{final.name}-{os.getpid()}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
        _atomic.fsync_path(root)
    except KeyboardInterrupt:  # a second Ctrl-C: no half checkpoint stays behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except (OSError, RuntimeError) as exc:
        # torch.save reports a full disk as RuntimeError ("unexpected pos …"), not OSError
        if isinstance(exc, RuntimeError) and _atomic.refusal(exc) is None:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp, ignore_errors=True)
        kept = find_checkpoints(root)
        older = f"; {kept[0].name} is kept" if kept else ""
        raise CheckpointError(
            f"could not write checkpoint {final}: {_atomic.refusal(exc)}{older}; free space and "
            "run the same command with --set train.resume=true"
        ) from exc
    fault_point("checkpoint-written", step)
    return final


def find_checkpoints(root: Path) -> list[Path]:
    """Resumable checkpoint folders under ``root`` with a final name, newest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and layout.step_of(p) is not None]
    return sorted(found, key=lambda p: layout.step_of(p), reverse=True)


def load_resumable(path: Path) -> tuple[dict, dict, dict]:
    """``(model state, trainer state, loop state)`` of one checkpoint, checked, as plain data.

    Raises :class:`CheckpointError` naming what is wrong: a missing or truncated file, invalid
    JSON, or a file that is not plain tensors (``weights_only=True`` refuses pickled objects).
    """
    torch = require("torch")
    try:
        saved = json.loads((path / layout.CKPT_STATE).read_text(encoding="utf-8"))
        sizes = saved["files"]
        for name, size in sizes.items():
            actual = (path / name).stat().st_size
            if actual != size:
                raise CheckpointError(f"{path / name}: {actual} bytes, {size} were written")
        model_state = torch.load(path / layout.CKPT_MODEL, map_location="cpu", weights_only=True)
        trainer = torch.load(path / layout.CKPT_TRAINER, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: incomplete ({Path(exc.filename).name} missing)") from exc
    except Exception as exc:  # truncated zip, bad JSON, a pickle that is not plain data ...
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a usable checkpoint ({reason})") from exc
    return model_state, trainer, saved["loop"]


def newest_usable(root: Path) -> tuple[Path, tuple[dict, dict, dict]] | None:
    """The newest checkpoint that loads, skipping (with a warning) each newer one that does not.

    None when there is no checkpoint at all; :class:`CheckpointError` when there are some and
    none is usable.
    """
    problems = []
    for path in find_checkpoints(root):
        try:
            return path, load_resumable(path)
        except CheckpointError as exc:
            problems.append(str(exc))
            warnings.warn(f"skipping checkpoint: {exc}", stacklevel=2)
    if problems:
        raise CheckpointError(f"no usable checkpoint under {root}: " + "; ".join(problems))
    return None


def prune_checkpoints(root: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` resumable checkpoints."""
    for old in find_checkpoints(root)[keep:]:
        shutil.rmtree(old, ignore_errors=True)


# -- fault injection ----------------------------------------------------------------------------


def fault_point(point: str, step: int) -> None:
    """Harm this process here if ``TAILTUNE_FAULT`` asks for it (see the module docstring)."""
    spec = os.environ.get("TAILTUNE_FAULT")
    if not spec:
        return
    for item in spec.split(","):
        action, _, where = item.strip().partition("@")
        name, _, at = where.partition(":")
        if name != point or not at.isdigit() or int(at) != step:
            continue
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "term":
            os.kill(os.getpid(), signal.SIGTERM)
        elif action == "int":
            os.kill(os.getpid(), signal.SIGINT)
        elif action == "enospc":
            raise OSError(errno.ENOSPC, "No space left on device")


def stop_requested(work: Path | None) -> bool:
    """Whether someone asked this training to stop: a ``STOP`` file (``layout.STOP_REQUEST``) in
    the work folder. The loop then ends at the evaluation it is at, with the best checkpoint, and
    the run is written as usual (``info.stop_reason: stop_requested``)."""
    return work is not None and (Path(work) / layout.STOP_REQUEST).exists()

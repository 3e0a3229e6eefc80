"""The names inside a run directory, defined once (docs/architecture.md, "Run directory").

The run writer, the reader, the training loop's checkpoints and every analysis take file names
from here, so a renamed artifact is one edit. Folder names of unfinished runs are here too:
``.tmp-<name>-<stamp>-<pid>`` while a run trains, ``.interrupted-<name>-<stamp>`` after Ctrl-C or
SIGTERM; both start with a dot, so readers that list finished runs skip them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BEST",
    "CHECKPOINTS",
    "CKPT_MODEL",
    "CKPT_STATE",
    "CKPT_TRAINER",
    "CONFIG",
    "DATA",
    "ENV",
    "HISTORY",
    "INTERRUPTED_PREFIX",
    "LABELS",
    "LOCK",
    "LOG",
    "METRICS",
    "MODEL",
    "PREDICTIONS",
    "PROBABILITIES",
    "STOP_REQUEST",
    "TMP_PREFIX",
    "TRAIN_LOG",
    "UnfinishedFolder",
    "interrupted_folder",
    "parse_unfinished",
    "per_class_file",
    "step_dir",
    "step_of",
    "tmp_folder",
]

# -- artifacts of a finished run ---------------------------------------------------------------
CONFIG = "config.yaml"  # the resolved config
METRICS = "metrics.json"
LABELS = "labels.json"  # classes, training counts, tiers
DATA = "data.json"  # load / clean / split reports
ENV = "env.json"  # versions, git SHA, seed, device
LOG = "log.txt"  # what the run printed
PREDICTIONS = "predictions.csv"
PROBABILITIES = "probabilities.npz"
HISTORY = "history.jsonl"  # neural runs: one JSON line per evaluation
TRAIN_LOG = "train.log"  # neural runs: plain progress lines (each evaluation, every N seconds)
MODEL = "model"  # backend.save() output (a folder)

# -- checkpoints (under the training work folder) ----------------------------------------------
CHECKPOINTS = "checkpoints"
BEST = "best"  # checkpoints/best/model.pt: weights of the best evaluation
CKPT_MODEL = "model.pt"
CKPT_TRAINER = "trainer.pt"  # optimizer and scheduler tensors (loaded with weights_only=True)
CKPT_STATE = "state.json"  # the loop's state and RNG states: plain JSON, written last
# a file of this name in a training work folder asks the loop to stop at its next evaluation,
# keeping the best checkpoint, and finish the run (a sweep pruning a trial; a user who has seen
# enough): any process that can write the folder can ask, with no signal and no shared memory
STOP_REQUEST = "STOP"

# -- unfinished runs ---------------------------------------------------------------------------
TMP_PREFIX = ".tmp-"
INTERRUPTED_PREFIX = ".interrupted-"
LOCK = ".lock"  # held (flock) by the process that trains in the folder

_STEP = re.compile(r"^step-(\d{6,})$")
_STAMP = r"\d{8}-\d{6}"
_TMP = re.compile(rf"^\.tmp-(?P<name>.+)-(?P<stamp>{_STAMP})-(?P<pid>\d+)$")
_INTERRUPTED = re.compile(rf"^\.interrupted-(?P<name>.+)-(?P<stamp>{_STAMP})(?:-\d+)?$")


def per_class_file(split: str) -> str:
    """``per_class.csv`` for the validation split, ``per_class_<split>.csv`` for the others."""
    return "per_class.csv" if split == "val" else f"per_class_{split}.csv"


def step_dir(step: int) -> str:
    """Folder name of the resumable checkpoint taken after optimizer step ``step``."""
    return f"step-{step:06d}"


def step_of(path: str | Path) -> int | None:
    """The step of a ``step-NNNNNN`` folder name, or None for any other name."""
    m = _STEP.match(Path(path).name)
    return int(m.group(1)) if m else None


def tmp_folder(name: str, stamp: str, pid: int) -> str:
    """Name of the folder a run trains in."""
    return f"{TMP_PREFIX}{name}-{stamp}-{pid}"


def interrupted_folder(name: str, stamp: str) -> str:
    """Name a run's folder is given when Ctrl-C or SIGTERM stopped it after a checkpoint."""
    return f"{INTERRUPTED_PREFIX}{name}-{stamp}"


@dataclass(frozen=True)
class UnfinishedFolder:
    """What the name of an unfinished run's folder says (``pid`` is None once interrupted)."""

    path: Path
    name: str
    stamp: str
    pid: int | None


def parse_unfinished(path: str | Path) -> UnfinishedFolder | None:
    """Parse a ``.tmp-*`` / ``.interrupted-*`` folder name; None for any other name."""
    p = Path(path)
    if m := _TMP.match(p.name):
        return UnfinishedFolder(p, m["name"], m["stamp"], int(m["pid"]))
    if m := _INTERRUPTED.match(p.name):
        return UnfinishedFolder(p, m["name"], m["stamp"], None)
    return None

"""Small pieces every backend shares: label handling, post-hoc adjustment, the backend.json file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.errors import DataError

__all__ = [
    "encode_labels",
    "argmax_labels",
    "write_backend_json",
    "read_backend_json",
    "training_priors",
    "sub_dir",
    "trainable_params",
]


def encode_labels(classes: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Indices of ``labels`` in the sorted ``classes`` array; unknown labels raise DataError."""
    labels = np.asarray(labels, dtype=object).astype(str)
    idx = np.searchsorted(classes, labels)
    idx = np.clip(idx, 0, len(classes) - 1)
    bad = classes[idx] != labels
    if bad.any():
        unknown = sorted(set(labels[bad]))[:5]
        raise DataError(f"labels not seen in training: {', '.join(map(repr, unknown))}")
    return idx


def argmax_labels(classes: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The most probable class label of each row (ties go to the first, i.e. sorted order)."""
    return classes[np.asarray(proba).argmax(axis=1)]


def training_priors(classes: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Class frequencies in the training labels, in ``classes`` order (they sum to 1)."""
    counts = np.bincount(encode_labels(classes, labels), minlength=len(classes)).astype(float)
    return counts / counts.sum()


def write_backend_json(path: str | Path, name: str, params: dict[str, Any], **extra: Any) -> None:
    """``backend.json`` names the backend so ``load_backend`` can dispatch on it."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    body = {"backend": name, "params": params, **extra}
    (p / "backend.json").write_text(json.dumps(body, indent=2, default=str) + "\n")


def read_backend_json(path: str | Path) -> dict[str, Any]:
    """The parsed ``backend.json`` of a saved backend directory (DataError when there is none)."""
    p = Path(path) / "backend.json"
    if not p.is_file():
        raise DataError(f"{Path(path)}: no backend.json (not a saved tailtune model)")
    return json.loads(p.read_text())


def sub_dir(work: Path | None, name: str) -> Path | None:
    """A stage's own work directory inside a composite's (None stays None)."""
    return work / name if work is not None else None


def trainable_params(backend) -> int:
    """The trainable-parameter count a backend reports in ``info_`` (0 when it reports none)."""
    return int(getattr(backend, "info_", {}).get("trainable_params", 0) or 0)

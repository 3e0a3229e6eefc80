"""Small pieces backends share: the backend.json file, stage folders, parameter counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tailtune._atomic import write_text
from tailtune.errors import DataError

__all__ = [
    "write_backend_json",
    "read_backend_json",
    "sub_dir",
    "trainable_params",
]


def write_backend_json(path: str | Path, name: str, params: dict[str, Any], **extra: Any) -> None:
    """``backend.json`` names the backend so ``load_backend`` can dispatch on it."""
    body = {"backend": name, "params": params, **extra}
    write_text(Path(path) / "backend.json", json.dumps(body, indent=2, default=str) + "\n")


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

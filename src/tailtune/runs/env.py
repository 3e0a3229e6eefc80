"""What a run needs to be reproduced: versions, git SHA, seed, device."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["environment"]

_PACKAGES = (
    "tailtune",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
    "bitsandbytes",
    "datasets",
    "ray",
)


def environment(seed: int | None = None, device: str | None = None) -> dict[str, Any]:
    """Versions of the packages that shape results, the git SHA of the working tree, seed, device."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor_count": _cpu_count(),
        "packages": versions,
        "git_sha": _git_sha(),
        "seed": seed,
        "device": device or "cpu",
        "command": " ".join(sys.argv),
    }


def _cpu_count() -> int | None:
    import os

    return os.cpu_count()


def _git_sha() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None

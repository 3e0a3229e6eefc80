"""The plain dict of backends, imported lazily, and loading a saved one (no config here)."""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

from tailtune.backends._common import read_backend_json
from tailtune.errors import ConfigError, DataError, TailtuneError

__all__ = ["BACKENDS", "COMPOSITES", "backend_class", "load_backend", "make_backend"]

BACKENDS: dict[str, str] = {
    "majority": "tailtune.backends.majority:MajorityBackend",
    "tfidf": "tailtune.backends.tfidf:TfidfBackend",
    "embedding_head": "tailtune.backends.embedding_head:EmbeddingHeadBackend",
    "encoder": "tailtune.backends.encoder:EncoderBackend",
    "decoder_lora": "tailtune.backends.decoder_lora:DecoderLoraBackend",
    "prototype": "tailtune.backends.prototype:PrototypeBackend",
    "cascade": "tailtune.backends.cascade:CascadeBackend",
    "ensemble": "tailtune.backends.ensemble:EnsembleBackend",
    "hierarchical": "tailtune.backends.hierarchical:HierarchicalBackend",
}

COMPOSITES = ("cascade", "ensemble", "hierarchical")
"""Backends made of other backends; a composite never nests another."""


def backend_class(name: str) -> type:
    """The backend class registered under ``name`` (imported on first use)."""
    if name not in BACKENDS:
        raise ConfigError(f"model.backend: got '{name}', expected one of: {', '.join(BACKENDS)}")
    module, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def make_backend(name: str, **kwargs: Any):
    """Instantiate a backend by name with keyword arguments (settings objects or flat fields)."""
    return backend_class(name).from_flat(**kwargs)


def load_backend(path: str | Path):
    """Load a saved backend from its directory (dispatching on ``backend.json``).

    A model file that cannot be read (a truncated or foreign safetensors header, a pickle that
    ``weights_only=True`` refuses, object arrays in an ``.npz``) is one line naming the folder,
    whichever library noticed it.
    """
    meta = read_backend_json(path)
    cls = backend_class(meta["backend"])
    try:
        return cls.load(path)
    except (TailtuneError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 - numpy, torch, safetensors, transformers each differ
        lines = str(exc).strip().splitlines()
        why = lines[0][:200] if lines else type(exc).__name__
        if isinstance(exc, pickle.UnpicklingError):  # torch's advice to unpickle is not ours
            why = "a weights file holds pickled objects, which tailtune never loads"
        raise DataError(
            f"{path}: the saved {meta['backend']} model cannot be read ({why}); "
            "the run's model files are damaged or not tailtune's: train the run again"
        ) from exc


def as_stage(spec: Any, where: str, seed: int):
    """A composite's stage: a built backend, or ``{"backend": name, **kwargs}`` built here
    (seeded with the composite's ``seed`` unless the spec names one)."""
    from tailtune.backends.params import is_backend

    if isinstance(spec, dict):
        spec = dict(spec)
        if "backend" not in spec:
            raise ConfigError(
                f"{where}: expected a backend or {{backend: name, ...}}; a partial config is "
                "built by tailtune.backends.build_backend from the run's config"
            )
        name = spec.pop("backend")
        if name in COMPOSITES:
            raise ConfigError(f"{where}: a stage cannot itself be a {name}")
        return make_backend(name, **{"seed": seed, **spec})
    if not is_backend(spec):
        raise ConfigError(f"{where}: got {spec!r}, expected a backend")
    if getattr(spec, "name", None) in COMPOSITES:
        raise ConfigError(f"{where}: a stage cannot itself be a {spec.name}")
    return spec

"""Backends: one module each, all following the contract in docs/architecture.md.

``build_backend(cfg)`` is the one place that reads config objects; it turns them into plain
keyword arguments (DESIGN.md rule 4). Backends are listed in a plain dict and imported lazily, so
the linear ones work without torch installed.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any

from tailtune.backends._common import read_backend_json
from tailtune.config import Config
from tailtune.errors import ConfigError

__all__ = ["BACKENDS", "backend_class", "make_backend", "build_backend", "load_backend"]

# Objective fields the workflow applies to the training data before any backend sees it.
WORKFLOW_OBJECTIVE = frozenset({"label_name_examples", "label_descriptions"})

BACKENDS: dict[str, str] = {
    "majority": "tailtune.backends.majority:MajorityBackend",
    "tfidf": "tailtune.backends.tfidf:TfidfBackend",
    "embedding_head": "tailtune.backends.embedding_head:EmbeddingHeadBackend",
    "encoder": "tailtune.backends.encoder:EncoderBackend",
    "decoder_lora": "tailtune.backends.decoder_lora:DecoderLoraBackend",
    "cascade": "tailtune.backends.cascade:CascadeBackend",
    "ensemble": "tailtune.backends.ensemble:EnsembleBackend",
}


def backend_class(name: str) -> type:
    """The backend class registered under ``name`` (imported on first use)."""
    if name not in BACKENDS:
        raise ConfigError(f"model.backend: got '{name}', expected one of: {', '.join(BACKENDS)}")
    module, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def make_backend(name: str, **kwargs: Any):
    """Instantiate a backend by name with plain keyword arguments."""
    return backend_class(name)(**kwargs)


def build_backend(cfg: Config):
    """Map a Config onto a backend's keyword arguments and instantiate it."""
    return make_backend(cfg.model.backend, **backend_kwargs(cfg))


def backend_kwargs(cfg: Config) -> dict[str, Any]:
    """The keyword arguments ``build_backend`` passes for this config."""
    name = cfg.model.backend
    obj = cfg.objective
    if name == "majority":
        return {"seed": cfg.seed}
    if name == "tfidf":
        t = cfg.model.tfidf
        return {
            **dataclasses.asdict(t),
            "class_weights": obj.class_weights,
            "beta": obj.beta,
            "weight_cap": obj.weight_cap,
            "posthoc_tau": obj.posthoc_tau,
            "tune_posthoc_tau": obj.tune_posthoc_tau,
            "seed": cfg.seed,
        }
    if name == "cascade":
        from tailtune.config import config_to_dict

        return {
            "head_threshold": cfg.model.cascade.head_threshold,
            "head_top_k": cfg.model.cascade.head_top_k,
            "base_config": config_to_dict(cfg),
            "router": cfg.model.cascade.router,
            "specialist": cfg.model.cascade.specialist,
            "seed": cfg.seed,
        }
    if name == "ensemble":
        from tailtune.config import config_to_dict

        e = cfg.model.ensemble
        return {
            "members": e.members,
            "weights": e.weights,
            "carve": e.carve,
            "tune_tau": e.tune_tau,
            "base_config": config_to_dict(cfg),
            "seed": cfg.seed,
        }
    # neural backends: model, objective and training fields, flattened
    kwargs: dict[str, Any] = {
        "model_name": cfg.model.name,
        "max_length": cfg.model.max_length,
        "seed": cfg.seed,
        **{k: v for k, v in dataclasses.asdict(obj).items() if k not in WORKFLOW_OBJECTIVE},
        **dataclasses.asdict(cfg.train),
    }
    if name == "embedding_head":
        kwargs.update(dataclasses.asdict(cfg.model.embedding))
    if name == "decoder_lora":
        kwargs.update({f"lora_{k}": v for k, v in dataclasses.asdict(cfg.model.lora).items()})
    if cfg.model.name is None:
        raise ConfigError(
            f"model.name: required for backend '{name}' (a transformers name or path)"
        )
    return kwargs


def load_backend(path: str | Path):
    """Load a saved backend from its directory (dispatching on ``backend.json``)."""
    meta = read_backend_json(path)
    return backend_class(meta["backend"]).load(path)

"""Building the inner backends of a composite (cascade stages, ensemble members).

A stage is either ``{"backend": name, **kwargs}`` (plain keyword arguments) or a partial config
deep-merged over the run's own config and mapped by ``build_backend``, so that a stage inherits
the run's objective and training settings unless it overrides them.
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any

from tailtune.errors import ConfigError

__all__ = ["build_stage", "merge", "sub_dir", "trainable_params"]

COMPOSITES = ("cascade", "ensemble")


def build_stage(
    spec: dict,
    base_config: dict | None,
    seed: int,
    where: str,
    overrides: dict | None = None,
) -> tuple[Any, str]:
    """``(backend, name)`` for one stage; a composite cannot nest another composite.

    ``overrides`` is a partial config applied last (what the composite needs of every stage,
    e.g. no post-hoc adjustment of its own).
    """
    from tailtune.backends import backend_class, build_backend

    spec = copy.deepcopy(spec)
    if "backend" in spec:
        name = spec.pop("backend")
        if name in COMPOSITES:
            raise ConfigError(f"{where}: a stage cannot itself be a {name}")
        cls = backend_class(name)
        flat = _accepted(cls, (overrides or {}).get("objective", {}))
        return cls(**{"seed": seed, **spec, **flat}), name
    from tailtune.config import Config, config_from_dict, config_to_dict

    base = copy.deepcopy(base_config) if base_config else config_to_dict(Config())
    merged = merge(base, spec)
    backend = merged.get("model", {}).get("backend")
    if backend in COMPOSITES and "backend" in spec.get("model", {}):
        raise ConfigError(f"{where}: a stage cannot itself be a {backend}")
    if backend in (None, *COMPOSITES):
        merged.setdefault("model", {})["backend"] = "tfidf"  # inherited, not asked for
    merge(merged, copy.deepcopy(overrides or {}))
    cfg = config_from_dict(merged)
    return build_backend(cfg), cfg.model.backend


def _accepted(cls: type, kwargs: dict) -> dict:
    """The keyword arguments ``cls`` takes (all of them if it takes ``**kwargs``): an override
    such as ``posthoc_tau=0`` means nothing to a backend without post-hoc adjustment."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k in params}


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into ``base`` (a stage's partial config over the run's)."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def sub_dir(work: Path | None, name: str) -> Path | None:
    return work / name if work is not None else None


def trainable_params(backend) -> int:
    return int(getattr(backend, "info_", {}).get("trainable_params", 0) or 0)

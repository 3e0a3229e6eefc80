"""Backends: one module each, all following the contract in :mod:`tailtune.backends.base`.

Backends are built like scikit-learn estimators — explicit constructor arguments (settings
dataclasses allowed), ``get_params`` / ``set_params`` / :func:`clone` — and listed in a plain
dict, imported lazily so the linear ones work without torch. ``build_backend(cfg)``
(:mod:`tailtune.backends.build`) is the one place that reads config objects.
"""

from __future__ import annotations

from tailtune.backends._registry import (
    BACKENDS,
    COMPOSITES,
    backend_class,
    load_backend,
    make_backend,
)
from tailtune.backends.base import Backend
from tailtune.backends.build import (
    WORKFLOW_OBJECTIVE,
    backend_kwargs,
    build_backend,
    build_stage,
)
from tailtune.backends.params import clone, freeze

__all__ = [
    "BACKENDS",
    "COMPOSITES",
    "WORKFLOW_OBJECTIVE",
    "Backend",
    "backend_class",
    "backend_kwargs",
    "build_backend",
    "build_stage",
    "clone",
    "freeze",
    "load_backend",
    "make_backend",
]

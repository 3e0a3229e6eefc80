"""From a run config to a built backend: the one place that reads config objects.

``build_backend(cfg)`` maps the config's sections onto a backend's constructor: settings objects
for the neural backends, plain fields for TF-IDF, and *built stages* for the composites — a
stage given as a partial config is merged over the run's own config (so it inherits the run's
objective and training settings) and built here, so composites never see a config. The
settings of the composites' config sections live here too, since only the builder reads them.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tailtune._settings import check_choices
from tailtune.backends._registry import COMPOSITES, backend_class, make_backend
from tailtune.errors import ConfigError
from tailtune.objectives.settings import WORKFLOW_FIELDS

__all__ = [
    "CascadeSettings",
    "EnsembleSettings",
    "WORKFLOW_OBJECTIVE",
    "backend_kwargs",
    "build_backend",
    "build_stage",
]

WORKFLOW_OBJECTIVE = WORKFLOW_FIELDS
"""Objective fields the workflow applies to the training data before any backend sees it."""


@dataclass
class CascadeSettings:
    """Router over the head classes + OTHER, specialist over the rest (config ``model.cascade``)."""

    head_threshold: int = 2000
    """Head = classes with at least this many training examples."""
    head_top_k: int | None = None
    """Or: the K most frequent classes are the head (overrides head_threshold)."""
    router: dict[str, Any] = field(default_factory=dict)
    """The router: a partial config over the run's ({model: {backend: ...}}), or {backend: name, ...}."""
    specialist: dict[str, Any] = field(default_factory=dict)
    """The specialist, given like the router."""

    def validate(self, where: str = "model.cascade") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.head_threshold < 1:
            raise ConfigError(
                f"{where}.head_threshold: got {self.head_threshold}, expected at least 1"
            )
        if self.head_top_k is not None and self.head_top_k < 1:
            raise ConfigError(f"{where}.head_top_k: got {self.head_top_k}, expected at least 1")


@dataclass
class EnsembleSettings:
    """Average several backends' probabilities (config ``model.ensemble``)."""

    members: list[dict[str, Any]] = field(default_factory=list)
    """At least 2 members, each a partial config over the run's or {backend: name, ...}."""
    weights: list[float] | None = None
    """Fixed blend weights, one per member; null = chosen on the tuning split."""
    carve: float = 0.1
    """Share of the training data held out to choose weights and τ (0: use the validation split)."""
    tune_tau: bool = True
    """Post-hoc logit adjustment of the blend (Menon et al. 2021), τ chosen with the weights."""

    def validate(self, where: str = "model.ensemble") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if not 0 <= self.carve < 1:
            raise ConfigError(f"{where}.carve: got {self.carve}, expected a fraction in [0, 1)")
        if self.weights is not None and any(w < 0 for w in self.weights):
            raise ConfigError(f"{where}.weights: got {self.weights}, expected non-negative numbers")


def build_backend(cfg):
    """The backend a run config asks for, unfitted (``cfg`` is a :class:`tailtune.config.Config`)."""
    return backend_class(cfg.model.backend)(**backend_kwargs(cfg))


def backend_objective(cfg):
    """The run's objective as a backend gets it: without the fields the workflow applies."""
    defaults = type(cfg.objective)()
    return dataclasses.replace(
        cfg.objective, **{name: getattr(defaults, name) for name in WORKFLOW_FIELDS}
    )


def backend_kwargs(cfg) -> dict[str, Any]:
    """The constructor arguments ``build_backend`` passes for this config."""
    name = cfg.model.backend
    obj = backend_objective(cfg)
    if name == "majority":
        return {"seed": cfg.seed}
    if name == "tfidf":
        return {
            **dataclasses.asdict(cfg.model.tfidf),
            "class_weights": obj.class_weights,
            "beta": obj.beta,
            "weight_cap": obj.weight_cap,
            "posthoc_tau": obj.posthoc_tau,
            "tune_posthoc_tau": obj.tune_posthoc_tau,
            "seed": cfg.seed,
        }
    if name == "cascade":
        c = cfg.model.cascade
        return {
            "router": build_stage(c.router, cfg, "model.cascade.router"),
            "specialist": build_stage(c.specialist, cfg, "model.cascade.specialist"),
            "head_threshold": c.head_threshold,
            "head_top_k": c.head_top_k,
            "seed": cfg.seed,
        }
    if name == "ensemble":
        e = cfg.model.ensemble
        return {
            "members": [
                build_stage(m, cfg, f"model.ensemble.members[{i}]") for i, m in enumerate(e.members)
            ],
            "weights": e.weights,
            "carve": e.carve,
            "tune_tau": e.tune_tau,
            "seed": cfg.seed,
        }
    if cfg.model.name is None:
        raise ConfigError(
            f"model.name: required for backend '{name}' (a transformers name or path)"
        )
    kwargs: dict[str, Any] = {
        "model_name": cfg.model.name,
        "max_length": cfg.model.max_length,
        "objective": obj,
        "train": copy.deepcopy(cfg.train),
        "seed": cfg.seed,
    }
    if name in ("embedding_head", "encoder"):
        kwargs["window"] = cfg.model.window()
    if name == "embedding_head":
        kwargs["embedding"] = copy.deepcopy(cfg.model.embedding)
    if name == "decoder_lora":
        kwargs["lora"] = copy.deepcopy(cfg.model.lora)
    return kwargs


def build_stage(spec: dict[str, Any], cfg, where: str):
    """One stage of a composite, built.

    ``{"backend": name, **kwargs}`` gives the backend's own keyword arguments (seeded with the
    run's seed); anything else is a partial config deep-merged over the run's config (``cfg``),
    with TF-IDF as the backend unless the stage names one.
    """
    spec = copy.deepcopy(spec)
    if "backend" in spec:
        name = spec.pop("backend")
        if name in COMPOSITES:
            raise ConfigError(f"{where}: a stage cannot itself be a {name}")
        return make_backend(name, **{"seed": cfg.seed, **spec})
    asked = spec.get("model", {}).get("backend") if isinstance(spec.get("model"), dict) else None
    if asked in COMPOSITES:
        raise ConfigError(f"{where}: a stage cannot itself be a {asked}")
    if asked is None:  # the run's own backend is the composite: a stage defaults to TF-IDF
        spec.setdefault("model", {})["backend"] = "tfidf"
    try:
        stage_cfg = cfg.merged(spec)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return build_backend(stage_cfg)

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
import json
from dataclasses import dataclass, field
from typing import Any

from tailtune._settings import check_choices
from tailtune.backends._registry import COMPOSITES, backend_class, make_backend
from tailtune.errors import ConfigError
from tailtune.objectives.settings import WORKFLOW_FIELDS

__all__ = [
    "CascadeSettings",
    "check_settings",
    "EnsembleSettings",
    "WORKFLOW_OBJECTIVE",
    "backend_kwargs",
    "build_backend",
    "build_stage",
    "unread_defaults",
]

WORKFLOW_OBJECTIVE = WORKFLOW_FIELDS
"""ObjectiveSettings fields the workflow applies to the training data before any backend sees it."""


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
    carves: int = 1
    """Seeded carves to choose weights and τ on, their held-out rows pooled (members are fitted
    once per carve; the first carve's are kept). More carves, less luck of one small carve."""

    def validate(self, where: str = "model.ensemble") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if not 0 <= self.carve < 1:
            raise ConfigError(f"{where}.carve: got {self.carve}, expected a fraction in [0, 1)")
        if self.carves < 1:
            raise ConfigError(f"{where}.carves: got {self.carves}, expected at least 1")
        if self.weights is not None and any(w < 0 for w in self.weights):
            raise ConfigError(f"{where}.weights: got {self.weights}, expected non-negative numbers")


def build_backend(cfg):
    """The backend a run config asks for, unfitted (``cfg`` is a :class:`tailtune.config.Config`).

    With ``data.hierarchy`` the configured backend becomes the stage of a hierarchical model
    (:mod:`tailtune.backends.build_hierarchy`)."""
    base = backend_class(cfg.model.backend)(**backend_kwargs(cfg))
    if not cfg.data.hierarchy:
        return base
    from tailtune.backends.build_hierarchy import hierarchical_kwargs

    return backend_class("hierarchical")(**hierarchical_kwargs(cfg, base, build_stage))


def backend_objective(cfg):
    """The run's objective as a backend gets it: without the fields the workflow applies."""
    defaults = type(cfg.objective)()
    return dataclasses.replace(
        cfg.objective, **{name: getattr(defaults, name) for name in WORKFLOW_FIELDS}
    )


def backend_kwargs(cfg) -> dict[str, Any]:
    """The constructor arguments ``build_backend`` passes for this config.

    A composite gets its stages built (:func:`build_stage`); any other backend gets each of its
    constructor arguments that the config holds, by name: ``seed``, ``model_name`` (config
    ``model.name``), ``max_length``, ``objective`` (less the fields the workflow applies),
    ``train``, and a settings section ``model.<argument>`` (``model.tfidf``, ``model.lora`` ...).
    So a new backend needs no edit here; an argument the config lacks keeps its default.
    """
    name = cfg.model.backend
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
            "carves": e.carves,
            "tune_tau": e.tune_tau,
            "seed": cfg.seed,
        }
    params = backend_class(name)._param_names()
    if "model_name" in params and cfg.model.name is None:
        raise ConfigError(
            f"model.name: required for backend '{name}' (a transformers name or path)"
        )
    given = {
        "seed": cfg.seed,
        "model_name": cfg.model.name,
        "max_length": cfg.model.max_length,
        "objective": backend_objective(cfg),
        "train": copy.deepcopy(cfg.train),
        "window": cfg.model.window(),  # model.long_text and the fields after it
    }
    kwargs = {}
    for p in params:
        if p in given:
            kwargs[p] = given[p]
        elif dataclasses.is_dataclass(getattr(cfg.model, p, None)):
            kwargs[p] = copy.deepcopy(getattr(cfg.model, p))
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
    # the stage itself, never wrapped again in a hierarchical model (data.hierarchy is the run's)
    return backend_class(stage_cfg.model.backend)(**backend_kwargs(stage_cfg))


# train fields the workflow reads for every backend (refit, resume, tracking)
WORKFLOW_TRAIN = frozenset(
    {"refit", "resume", "report_to", "tracking_uri", "tracking_experiment", "log_model"}
)
# train fields that change where or how visibly a run computes, never its result: a backend
# that does not read them gets a warning, not an error
HARMLESS_TRAIN = frozenset(
    {"device", "num_threads", "progress", "eval_batch_size", "keep_checkpoints", "log_every_s"}
)
CHECKED = ("objective", "train", "model.tfidf", "model.embedding", "model.lora", "model.cascade",
           "model.ensemble", "model.hierarchy")  # fmt: skip


def check_settings(cfg) -> list[str]:
    """Refuse a setting the run's backend cannot use (issue: silent settings): a ConfigError
    naming the field, its value and the backends it applies to. A setting that only changes
    where the run computes (threads, device) is returned as a warning line instead.

    A field counts as set when it differs from its default; the backend says which fields it
    reads (``settings_in_use``; a composite adds its stages'), so config.yaml, which records
    the resolved config, holds no value that did not take part in the run.
    """
    from tailtune.backends._registry import BACKENDS

    backend = build_backend(cfg)
    backend._check_params()  # the backend's own rules (an ensemble's members, LoRA on CUDA)
    used = backend.settings_in_use()
    warnings: list[str] = []
    for section in (*CHECKED, "window"):
        # "window": model.long_text and the fields after it (a backend's ``window`` argument)
        current = cfg.model.window() if section == "window" else _section(cfg, section)
        default = type(current)()
        for f in dataclasses.fields(current):
            value = getattr(current, f.name)
            runtime = f.metadata.get("yaml", True) is False  # filled in by the component
            if runtime or value == getattr(default, f.name):
                continue
            if (section, f.name) in _WORKFLOW or f.name in used.get(section, ()):
                continue
            applies = [
                n for n in BACKENDS if f.name in backend_class(n).fields_in_use().get(section, ())
            ]
            shown = "model" if section == "window" else section
            where = f"{shown}.{f.name}={_show(value)}"
            if section == "model.hierarchy":  # not a backend to choose: a label structure
                raise ConfigError(
                    f"{where}: applies to labels that are paths; set data.hierarchy: true, or "
                    "remove it"
                )
            why = f"the {cfg.model.backend} backend does not use it"
            if section == "train" and f.name in HARMLESS_TRAIN:
                warnings.append(f"{where}: {why} (ignored)")
                continue
            to = f"; it applies to {', '.join(applies)}" if applies else "; no backend uses it"
            raise ConfigError(f"{where}: {why}{to}. Remove it, or choose such a backend")
    return warnings


_WORKFLOW = {("objective", n) for n in WORKFLOW_FIELDS} | {("train", n) for n in WORKFLOW_TRAIN}


def unread_defaults(cfg) -> dict[str, list[str]]:
    """Section -> the fields of it the run's backend does not read and that hold their default:
    what config.yaml leaves out. Loading the file back fills in the same defaults, so the config
    (and its hash) is unchanged; a non-default value is always kept (:func:`check_settings` has
    refused it or warned about it). ``window`` fields live in the ``model`` section."""
    from tailtune._settings import yaml_fields

    used = build_backend(cfg).settings_in_use()
    out: dict[str, list[str]] = {}
    for section in (*CHECKED, "window"):
        current = cfg.model.window() if section == "window" else _section(cfg, section)
        default = type(current)()
        names = [
            f.name
            for f in yaml_fields(current)
            if (section, f.name) not in _WORKFLOW
            and f.name not in used.get(section, ())
            and getattr(current, f.name) == getattr(default, f.name)
        ]
        if names:
            out[section] = names
    return out


def _section(cfg, dotted: str):
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _show(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)

"""The sweep file: a base config (a YAML or a shipped recipe, plus overrides), the searched
fields with their ranges, the trial budget and where trials run.

Read by the settings engine (:func:`tailtune._settings.from_dict`), like a run config: every
key is a documented field below, an unknown key or a bad value is one ConfigError line::

    # tailtune sweep sweep.yaml --confirm 3
    name: banking77-lr
    recipe: cpu-longtail
    set: [data.path=data/banking77/train.csv, "data.label_columns=[category]"]
    params:
      - {field: model.tfidf.C, low: 0.05, high: 5.0, log: true}
      - {field: train.lr, low: 0.0003, high: 0.03, log: true}
      - {field: objective.class_weights, choices: [none, sqrt_inverse, inverse]}
    trials: 20
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any, Literal

import yaml

from tailtune._settings import check_choices, from_dict
from tailtune.errors import ConfigError

__all__ = ["Param", "SweepSpec", "load_sweep", "base_config"]

METRICS = ("macro_f1", "accuracy", "balanced_accuracy", "weighted_f1")


@dataclass
class Param:
    """One searched config field: a float or int range (optionally log-scaled), or choices."""

    field: str = ""
    """Dotted config field, e.g. model.tfidf.C or train.lr."""
    low: float | None = None
    """Lower end of a numeric range (inclusive)."""
    high: float | None = None
    """Upper end of a numeric range (inclusive)."""
    log: bool = False
    """Sample the range on a log scale (learning rates, regularization strengths)."""
    integer: bool = False
    """Integers only (batch sizes, epochs, n-gram lengths)."""
    step: float | None = None
    """Grid step within the range; null = continuous (Optuna's ``step``)."""
    choices: list[Any] | None = None
    """Categorical values instead of a range (strings, numbers, lists, null)."""

    def validate(self, where: str = "params") -> None:
        """Raise ConfigError naming the bad entry: a field, and a range or choices."""
        if not self.field or self.field.split(".")[0] in ("seed", "name", "runs_dir"):
            raise ConfigError(f"{where}.field: got {self.field!r}, expected a dotted config field")
        if self.choices is not None:
            if self.low is not None or self.high is not None or not self.choices:
                raise ConfigError(f"{where}: give either choices (a non-empty list) or low/high")
            return
        if self.low is None or self.high is None:
            raise ConfigError(f"{where} ({self.field}): give low and high, or choices")
        if self.low > self.high:
            raise ConfigError(f"{where} ({self.field}): low {self.low} is above high {self.high}")
        if self.log and self.low <= 0:
            raise ConfigError(f"{where} ({self.field}): log needs low > 0, got {self.low}")

    def kind(self) -> str:
        """categorical, int or float."""
        return "categorical" if self.choices is not None else ("int" if self.integer else "float")


@dataclass
class SweepSpec:
    """A hyperparameter search: the base config, the searched fields and the budget."""

    name: str = "sweep"
    """The sweep's name: its folder <runs_dir>/<name>/ and its Optuna study's name (a sweep
    started again under this name resumes the study)."""
    base: str | None = None
    """Base config file (relative to the sweep file); null = defaults, or the recipe."""
    recipe: str | None = None
    """A shipped recipe as the base config (cpu-longtail, cpu-longtail-tuned, cpu-finetune)
    instead of base."""
    set: list[str] = _field(default_factory=list)
    """Overrides of the base config, as tailtune train --set takes them (section.field=value)."""
    params: list[Param] = _field(default_factory=list)
    """The searched fields."""
    trials: int = 20
    """Trials to finish (completed, pruned or failed); a resumed sweep counts earlier ones."""
    metric: Literal["macro_f1", "accuracy", "balanced_accuracy", "weighted_f1"] = "macro_f1"
    """Validation metric maximized, read from each trial's best checkpoint (metrics.json)."""
    seed: int = 0
    """Seed of the TPE sampler (the trials train with the base config's seed)."""
    pruner: Literal["median", "none"] = "median"
    """Stop a neural trial whose validation metric at an evaluation is below the median of
    earlier trials at the same evaluation (Optuna's MedianPruner); none = never."""
    startup_trials: int = 3
    """Trials that always finish before the pruner may stop one."""
    warmup_evals: int = 1
    """Evaluations of a trial before it may be pruned."""
    executor: Literal["sequential", "processes", "ray"] = "sequential"
    """Where trials train: in this process, in worker processes, or on Ray."""
    workers: int = 1
    """Trials trained at once (processes, ray)."""
    ray_address: str | None = None
    """An existing Ray cluster; null = a local one."""
    runs_dir: str | None = None
    """Folder of the sweep's folder and the run index; null = the base config's runs_dir."""
    storage: str | None = None
    """Optuna storage URL; null = sqlite:///<runs_dir>/<name>/study.db."""
    confirm: int = 0
    """After the search, train the best config on this many fresh seeds (mean ± sd)."""

    def validate(self, where: str = "sweep") -> None:
        """Raise ConfigError naming the first bad field."""
        check_choices(self, where)
        if self.base is not None and self.recipe is not None:
            raise ConfigError(f"{where}: give base (a config file) or recipe, not both")
        if not self.params:
            raise ConfigError(f"{where}.params: expected at least one searched field")
        seen = [p.field for p in self.params]
        if len(set(seen)) != len(seen):
            raise ConfigError(f"{where}.params: a field is searched twice: {seen}")
        for name in ("trials", "workers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}: got {getattr(self, name)}, expected >= 1")
        for name in ("confirm", "startup_trials", "warmup_evals"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{where}.{name}: got {getattr(self, name)}, expected >= 0")


def load_sweep(path: str | Path, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Read and validate a sweep file; ``overrides`` replace its fields (the CLI's options).

    ``base`` is resolved against the file's folder."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: sweep file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}: not valid YAML{at}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected a mapping of sweep fields")
    raw = {"name": p.stem, **raw, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    try:
        spec = from_dict(raw, SweepSpec, "sweep")
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    if spec.base is not None and not Path(spec.base).is_absolute():
        spec = dataclasses.replace(spec, base=str(p.parent / spec.base))
    return spec


def base_config(spec: SweepSpec):
    """The validated base Config: ``base`` file or ``recipe`` (or defaults), then ``set``."""
    from tailtune.config import load_config, recipe_path

    path = recipe_path(spec.recipe) if spec.recipe else spec.base
    return load_config(path, spec.set)

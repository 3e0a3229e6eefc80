"""The experiment file: a base config, ONE varied field (or a declared grid), seeds, a prediction.

The controlled-experiment template: change one variable, hold everything else constant, write
the prediction before running, confirm with three seeds. The file enforces it::

    base: ../tiny.yaml              # a config file (relative to this file) or an inline mapping
    vary: {train.batch_size: [32, 4]}
    seeds: [1, 2, 3]
    prediction: "batch 4 rescues a few tail classes; macro F1 +0.01, accuracy flat"
    # or checkable: {metric: macro_f1, direction: up, at_least: 0.01, text: "..."}
    executor: sequential            # sequential | processes | ray
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tailtune._settings import from_dict
from tailtune.config import (
    DATA_PATH_FIELDS,
    _resolve_paths,
    check_seed,
    config_from_dict,
    read_config_file,
    read_yaml_mapping,
)
from tailtune.errors import ConfigError
from tailtune.experiments.prediction import Prediction, parse_prediction

__all__ = [
    "EXECUTORS",
    "Experiment",
    "ExperimentFile",
    "load_experiment",
    "experiment_from_dict",
    "set_field",
]

EXECUTORS = ("sequential", "processes", "ray")


@dataclass
class ExperimentFile:
    """The fields of an experiment file, as written (``load_experiment`` resolves them)."""

    name: str | None = None
    """Experiment name; null = the file's name without its suffix (or the base config's name)."""
    base: str | dict[str, Any] | None = None
    """The config every run starts from: a config file (relative to the experiment file) or an
    inline mapping; null = the defaults."""
    vary: dict[str, list[Any]] | None = None
    """The ONE varied field and its values (at least two), e.g. {train.batch_size: [32, 4]}."""
    grid: dict[str, list[Any]] | None = None
    """Several fields crossed, instead of vary (a declared grid): {field: [values], ...}."""
    seeds: int | list[int] = field(default_factory=lambda: [1, 2, 3])
    """Seeds each value runs with (distinct integers)."""
    prediction: Any = None
    """What you expect, written BEFORE running: text, or {metric, direction, at_least, value,
    text} for a prediction the record checks (required; checked by its own parser,
    tailtune.experiments.prediction)."""
    executor: Literal["sequential", "processes", "ray"] = "sequential"
    """Where the runs train: in this process, one worker process per run, or on Ray."""
    workers: int = 2
    """Runs in parallel (processes, ray)."""
    ray_address: str | None = None
    """An existing Ray cluster's address; null = a local Ray."""
    runs_dir: str | None = None
    """Where the runs go; null = the base config's runs_dir."""
    metric: Literal["macro_f1", "accuracy", "balanced_accuracy", "weighted_f1", "zero_f1"] = (
        "macro_f1"
    )
    """The metric the verdict and the plots are about."""
    description: str | None = None
    """Free text shown in the record."""

    def validate(self, where: str = "") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        at = f"{where}." if where else ""
        seeds = [self.seeds] if isinstance(self.seeds, int) else self.seeds
        if not seeds:
            raise ConfigError(
                f"{at}seeds: got {self.seeds!r}, expected a non-empty list of integers"
            )
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"{at}seeds: got {seeds}, expected distinct integers")
        for i, seed in enumerate(seeds):
            check_seed(seed, f"{at}seeds[{i}]")
        if self.workers < 1:
            raise ConfigError(f"{at}workers: got {self.workers!r}, expected a positive integer")
        if self.vary is not None and self.grid is not None:
            raise ConfigError(
                f"{at}vary and {at}grid: give either vary (one field) or grid (several fields), "
                "not both"
            )


@dataclass
class Experiment:
    """A validated experiment: ``base`` is a raw config dict with data paths resolved."""

    name: str
    base: dict[str, Any]
    fields: dict[str, list[Any]]  # the varied field(s) and their values, in file order
    prediction: str
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    is_grid: bool = False
    executor: str = "sequential"
    workers: int = 2
    ray_address: str | None = None
    runs_dir: str | None = None  # default: the base config's runs_dir
    metric: str = "macro_f1"  # the metric the verdict and plots are about
    description: str = ""
    source: str = "<dict>"
    base_dir: str = "."  # the experiment file's folder: relative data paths in values resolve here
    expected: Prediction | None = None  # the structured prediction, when it is one

    @property
    def variable(self) -> str:
        """The varied field (fields joined by ' × ' for a grid)."""
        return " × ".join(self.fields)


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment YAML file (one-line ConfigError naming the field)."""
    p = Path(path)
    raw = read_yaml_mapping(p, "experiment file", "a mapping of experiment fields")
    raw.setdefault("name", p.stem)
    return experiment_from_dict(raw, base_dir=p.parent, source=str(p))


def experiment_from_dict(
    raw: dict[str, Any], base_dir: str | Path = ".", source: str = "<dict>"
) -> Experiment:
    """Validate an experiment mapping; ``base_dir`` resolves a base config path and data paths."""
    where = source
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with base, vary, seeds and prediction")
    try:
        spec = from_dict(raw, ExperimentFile, kind="experiment")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    base = _load_base(spec.base, Path(base_dir), where)
    fields, is_grid = _varied_fields(spec, where)
    for name, values in fields.items():
        for value in values:  # every value must make a valid config, before anything runs
            config_from_dict(set_field(base, name, value, base_dir))
    prediction, expected = parse_prediction(
        spec.prediction, where, fields, is_grid, default_metric=spec.metric
    )
    return Experiment(
        name=spec.name or base.get("name") or "experiment", base=base, fields=fields,
        prediction=prediction.strip(),
        seeds=[spec.seeds] if isinstance(spec.seeds, int) else list(spec.seeds),
        is_grid=is_grid, executor=spec.executor, workers=spec.workers,
        ray_address=spec.ray_address, runs_dir=spec.runs_dir, metric=spec.metric,
        description=spec.description or "", source=source, base_dir=str(base_dir), expected=expected,
    )  # fmt: skip


def _load_base(base: Any, base_dir: Path, where: str) -> dict[str, Any]:
    if base is None:
        return {}
    if isinstance(base, dict):
        out = _absolute(_resolve_paths(copy.deepcopy(base), base_dir))
    elif isinstance(base, str):
        p = Path(base) if Path(base).is_absolute() else base_dir / base
        if not p.is_file():
            raise ConfigError(
                f"{where}: base: config file '{base}' not found (relative to {base_dir})"
            )
        out = _absolute(read_config_file(p))
    else:
        raise ConfigError(f"{where}: base: got {base!r}, expected a config path or a mapping")
    config_from_dict(out)  # validate the base alone first: its errors name its own fields
    return out


def _varied_fields(spec: ExperimentFile, where: str) -> tuple[dict[str, list[Any]], bool]:
    vary, grid = spec.vary, spec.grid
    if vary is None and grid is None:
        raise ConfigError(f"{where}: vary is required: one field and its values, e.g. vary: {{train.batch_size: [32, 4]}}")  # fmt: skip
    is_grid = grid is not None
    mapping = grid if is_grid else vary
    key = "grid" if is_grid else "vary"
    if not mapping:
        raise ConfigError(f"{where}: {key}: expected a mapping of dotted field -> list of values")
    if not is_grid and len(mapping) > 1:
        raise ConfigError(
            f"{where}: vary: changes {len(mapping)} fields ({', '.join(mapping)}); a controlled "
            "experiment changes exactly one (declare a grid: to cross several)"
        )
    fields: dict[str, list[Any]] = {}
    for name, values in mapping.items():
        if name in ("seed", "name", "runs_dir"):
            raise ConfigError(f"{where}: {key}: '{name}' cannot be varied (use seeds: for seeds)")
        if len(values) < (1 if is_grid else 2):
            need = "a list of values" if is_grid else "a list of at least two values"
            raise ConfigError(f"{where}: {key}.{name}: got {values!r}, expected {need}")
        if len({_yaml(v) for v in values}) != len(values):
            raise ConfigError(f"{where}: {key}.{name}: values repeat: {values}")
        fields[str(name)] = list(values)
    return fields, is_grid


def set_field(
    raw: dict[str, Any], dotted: str, value: Any, base_dir: str | Path = "."
) -> dict[str, Any]:
    """A deep copy of a raw config dict with ``dotted`` set to ``value`` (data paths resolved)."""
    out = copy.deepcopy(raw)
    node = out
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: '{part}' is not a config section")
    node[parts[-1]] = copy.deepcopy(value)
    return _absolute(_resolve_paths(out, Path(base_dir))) if parts[0] == "data" else out


def _absolute(raw: dict[str, Any]) -> dict[str, Any]:
    """Existing data paths become absolute, so run ids do not depend on the working directory."""
    data = raw.get("data")
    if not isinstance(data, dict):
        return raw
    for key in DATA_PATH_FIELDS:
        value = data.get(key)
        if isinstance(value, str) and Path(value).exists():
            data[key] = str(Path(value).resolve())
        elif isinstance(value, list):
            data[key] = [str(Path(v).resolve()) if isinstance(v, str) and Path(v).exists() else v for v in value]  # fmt: skip
    return raw


def _yaml(value: Any) -> str:
    """A canonical text of a value, to spot repeated values."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()

"""Expand an experiment into runs: every value (or grid cell) × every seed, each a resolved config.

A run's identity is the hash of its resolved config, seed included (``run_config_hash``), so a
re-run finds what is already done by reading the finished run directories, whatever their names.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailtune.config import Config, config_from_dict, config_to_dict
from tailtune.experiments.spec import Experiment, set_field
from tailtune.runs.index import run_config_hash, walk_runs

__all__ = ["PlannedRun", "plan_runs", "runs_root", "experiment_dir", "finished_runs", "value_label"]


@dataclass
class PlannedRun:
    """One (value or grid cell, seed) of an experiment."""

    run_id: str  # run_config_hash of the resolved config
    values: dict[str, Any]  # varied field -> value
    seed: int
    config: Config
    run_name: str  # directory name stem (RunWriter appends a timestamp)

    @property
    def cell(self) -> tuple[str, ...]:
        """The value (or grid cell) this run belongs to, as display labels."""
        return tuple(value_label(v) for v in self.values.values())

    def config_dict(self) -> dict[str, Any]:
        """The resolved config as a plain dict (what travels to a worker process)."""
        return config_to_dict(self.config)


def plan_runs(exp: Experiment) -> list[PlannedRun]:
    """Runs in execution order: cells in file order (grid: row-major), seeds within each cell."""
    planned: list[PlannedRun] = []
    names = list(exp.fields)
    for combo in itertools.product(*(exp.fields[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        for seed in exp.seeds:
            raw = exp.base
            for name, value in values.items():
                raw = set_field(raw, name, value, exp.base_dir)
            raw = {**raw, "seed": seed, "name": exp.name}
            cfg = config_from_dict(raw)
            run_id = run_config_hash(cfg)
            slug = "-".join(f"{n.split('.')[-1]}{value_label(v)}" for n, v in values.items())
            planned.append(
                PlannedRun(run_id, values, seed, cfg, f"{slug[:60]}-s{seed}-{run_id[:6]}")
            )
    ids = [p.run_id for p in planned]
    if len(set(ids)) != len(ids):  # two values resolving to the same config would alias
        raise ValueError("two planned runs resolve to the same config")
    return planned


def runs_root(exp: Experiment, runs_dir: str | Path | None = None) -> Path:
    """The runs folder that holds ``index.db``: argument, experiment file, then base config."""
    return Path(runs_dir or exp.runs_dir or exp.base.get("runs_dir") or "runs")


def experiment_dir(exp: Experiment, runs_dir: str | Path | None = None) -> Path:
    """``<runs_root>/<experiment name>/``: the experiment's runs, record and plots."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in exp.name).strip(".-")
    return runs_root(exp, runs_dir) / (safe or "experiment")


def finished_runs(exp_dir: str | Path) -> dict[str, Path]:
    """Finished run directories under ``exp_dir`` by run id (the newest wins on duplicates)."""
    from tailtune.runs.reader import read_run

    found: dict[str, Path] = {}
    for run_dir in walk_runs(exp_dir):
        try:
            found[run_config_hash(read_run(run_dir).config)] = run_dir
        except Exception:  # an unreadable dir is not a finished run; it will be redone
            continue
    return found


def value_label(value: Any) -> str:
    """A short display label for a varied value (a model path shows its last part)."""
    if isinstance(value, str) and "/" in value:
        return value.rstrip("/").rsplit("/", 1)[-1]
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) >= 1 else str(value)
    return str(value)

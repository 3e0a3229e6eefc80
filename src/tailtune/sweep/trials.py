"""From a sweep's base config to each trial's config, and from a trial's run to its score."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tailtune.config import Config, config_from_dict, config_to_dict
from tailtune.errors import DataError
from tailtune.experiments.spec import set_field
from tailtune.runs.reader import read_run

__all__ = ["trial_base", "with_values", "trial_score"]


def trial_base(base: Config, name: str) -> dict[str, Any]:
    """The base config of every trial: the test split is held out but never scored
    (``eval.score_test: false``: a search chooses on validation only, and no trial's record
    shows a test figure), no refit (the trial is scored on validation), and the split's seed
    pinned to the base run's, so every trial and every confirmation run shares one train /
    validation split and holds out the same test rows."""
    raw = config_to_dict(base)
    raw["name"] = name
    raw["eval"]["score_test"] = False
    raw["train"]["refit"] = False
    raw["split"]["seed"] = base.split.seed if base.split.seed is not None else base.seed
    return raw


def with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with each dotted field set (validated: a bad value is a ConfigError)."""
    out = copy.deepcopy(raw)
    for field, value in values.items():
        out = set_field(out, field, value)
    config_from_dict(out)
    return out


def trial_score(run_dir: str | Path, metric: str) -> dict[str, Any]:
    """A finished trial's score: the validation ``metric`` of the model it kept (the best
    checkpoint for neural runs, which the workflow scores), with the history's last and best
    evaluations beside it to show how much choosing the best checkpoint mattered."""
    run = read_run(run_dir)
    val = run.metrics.get("val")
    if not isinstance(val, dict) or val.get(metric) is None:
        raise DataError(f"{run.path}: no validation {metric} (a sweep needs a validation split)")
    out: dict[str, Any] = {"value": float(val[metric]), "run_dir": str(run.path)}
    scores = [r[metric] for r in run.history if isinstance(r.get(metric), int | float)]
    if scores:
        out.update(last_eval=float(scores[-1]), best_eval=float(max(scores)), evals=len(scores))
    info = run.metrics.get("info") or {}
    if info.get("stop_reason"):
        out["stop_reason"] = info["stop_reason"]
    return out

"""From a sweep's base config to each trial's config, and from a trial's run to its score."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tailtune.config import Config, config_from_dict, config_to_dict
from tailtune.errors import DataError
from tailtune.experiments.spec import set_field
from tailtune.runs.reader import read_run

__all__ = ["trial_base", "with_values", "trial_score", "recorded_base_hashes"]


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


def recorded_base_hashes(folder: Path, raw_base: dict[str, Any], fields: list[str]) -> set[str]:
    """Hashes of the base config that the sweep's finished trials in ``folder`` ran on: each
    trial's recorded config.yaml with the searched ``fields`` set back to ``raw_base``'s values.

    A study stores only its base config's hash; when a newer tailtune adds settings, the same
    base hashes differently (the new settings at their defaults). The trials' own records say
    what the base was, read through today's schema, so a resume can tell "same base, newer
    schema" from "another base"."""
    from tailtune.runs.index import run_config_hash
    from tailtune.runs.reader import is_run_dir

    hashes = set()
    for run_dir in sorted(Path(folder).glob("trial-*")):
        if not is_run_dir(run_dir):
            continue
        recorded = read_run(run_dir).config
        for field in fields:
            node: Any = raw_base
            for part in field.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            recorded = set_field(recorded, field, node)
        recorded["name"] = raw_base.get("name")
        hashes.add(run_config_hash(recorded))
    return hashes


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

"""The end of a sweep: every trial's record, the best config as a YAML, the honest reading.

The best trial's figure is the maximum of many noisy figures measured on the validation data
that chose it, so it overstates what the config scores on new data (the winner's curse;
Cawley & Talbot 2010, "On over-fitting in model selection"). The record says so, and the
confirmation (:mod:`.confirm`) measures the config again on seeds the search never used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tailtune._atomic import write_text
from tailtune.config import Config, config_to_dict
from tailtune.runs.writer import write_json_atomic
from tailtune.sweep.study import finished_trial_dir
from tailtune.sweep.trials import trial_score, with_values

__all__ = ["finish_sweep", "trial_records", "SWEEP_JSON", "BEST_YAML"]

SWEEP_JSON = "sweep.json"
BEST_YAML = "best.yaml"


def trial_records(study, folder: Path, metric: str) -> list[dict[str, Any]]:
    """One plain record per trial, in trial order (run folder and score read from disk)."""
    out = []
    for t in study.get_trials(deepcopy=False):
        record = {
            "number": t.number, "state": t.state.name.lower(), "value": t.value,
            "values": json.loads(t.user_attrs.get("values", "{}")),
            "error": t.user_attrs.get("error"),
            "requeued_from": t.user_attrs.get("requeued_from"),
        }  # fmt: skip
        run_dir = finished_trial_dir(folder, t.number)
        if run_dir is not None:
            record.update(trial_score(run_dir, metric))
        out.append(record)
    return out


def finish_sweep(result, study, base: Config, raw_base: dict, *, trainer: str, say, db) -> None:
    """Fill ``result`` (trials, best, best config, confirmation) and write sweep.json."""
    spec, folder = result.spec, result.dir
    result.trials = trial_records(study, folder, spec.metric)
    complete = [t for t in result.trials if t["state"] == "complete"]
    pruned = sum(t["state"] == "pruned" for t in result.trials)
    failed = sum(t["state"] == "fail" and t["number"] not in _requeued(result.trials) for t in result.trials)  # fmt: skip
    say(f"sweep '{spec.name}': {len(complete)} trials completed, {pruned} pruned, {failed} failed")
    if complete:
        best = max(complete, key=lambda t: (t["value"], -t["number"]))
        result.best = best
        full = config_to_dict(base)
        full["name"] = f"{spec.name}-best"
        full["split"]["seed"] = raw_base["split"]["seed"]  # the split the trials chose on
        best_raw = with_values(full, best["values"])
        result.best_config = _write_yaml(folder / BEST_YAML, best_raw)
        shown = ", ".join(f"{k}={v}" for k, v in best["values"].items())
        say(f"best trial {best['number']}: {shown}; val {spec.metric} {best['value']:.4f}")
        note = (
            f"this figure is optimistic: it is the best of {len(complete)} trials, chosen on the "
            "same validation data it is measured on"
        )
        if not spec.confirm:
            note += "; measure it on fresh seeds: run the sweep again with --confirm 3"
        result.notes.append(note)
        say(note)
        if spec.confirm:
            from tailtune.sweep.confirm import confirm_best

            result.confirmation = confirm_best(
                spec, best_raw, best, folder, trainer=trainer, say=say, db=db
            )
        say(f"best config written to {result.best_config} (train it: tailtune train {result.best_config})")  # fmt: skip
    write_json_atomic(
        folder / SWEEP_JSON,
        {
            "name": spec.name, "storage": result.storage, "metric": spec.metric,
            "params": [p.__dict__ for p in spec.params], "trials": result.trials,
            "best": result.best, "best_config": str(result.best_config) if result.best_config else None,
            "confirmation": result.confirmation, "notes": result.notes,
        },
    )  # fmt: skip


def _requeued(trials: list[dict]) -> set[int]:
    return {t["requeued_from"] for t in trials if t.get("requeued_from") is not None}


def _write_yaml(path: Path, raw: dict) -> Path:
    """The best config, headed by the command that trains it; written through a temporary file."""
    text = f"# tailtune train {path}\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    return write_text(path, text)

"""What a finished run tells an experiment tracker, read from its run directory alone.

Trackers differ in their calls, not in what a run is: the resolved config (flattened to dotted
params), the history (one point per evaluation, at its optimizer step), the final metrics of
each split with their tiers and 95% stratified-bootstrap intervals
(:func:`tailtune.evaluation.noise.bootstrap_ci`), the tags that lead back to the run, and the
files worth keeping. Built from the run directory, it works for any finished run, from any
machine, long after training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailtune.runs import layout, read_run
from tailtune.runs.index import flatten_config

__all__ = ["RunSummary", "run_summary", "HISTORY_NAMES"]

# history keys -> tracker metric names: per-step validation figures are ``eval_*`` (the HF
# Trainer's convention), final ones ``val_*`` / ``test_*`` (see docs/tracking.md)
HISTORY_NAMES = {
    "train_loss": "train_loss",
    "val_loss": "eval_loss",
    "lr": "learning_rate",
    "epoch": "epoch",
}
_FINAL = ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy", "zero_f1")
_FILES = (layout.METRICS, layout.CONFIG, layout.HISTORY, layout.LABELS, layout.DATA, layout.ENV)


@dataclass
class RunSummary:
    """Everything a tracker logs about one finished run."""

    name: str  # the run's name (config ``name``)
    path: Path  # the run directory
    params: dict[str, str]
    history: list[tuple[int, float, dict[str, float]]]  # (step, unix time, metrics)
    metrics: dict[str, float]
    tags: dict[str, str]
    files: list[Path] = field(default_factory=list)  # artifacts: tables and records
    model_dir: Path | None = None  # the model folder, when asked for


def run_summary(run_dir: str | Path, *, n_boot: int = 1000, with_model: bool = False) -> RunSummary:
    """Read a finished run directory into a :class:`RunSummary`."""
    run = read_run(run_dir)
    env = run.env
    params = {k: _param(v) for k, v in flatten_config(run.config).items()}
    finished = (run.path / layout.METRICS).stat().st_mtime
    metrics = final_metrics(run, n_boot=n_boot)
    tags = {
        "tailtune.run": run.name,
        "tailtune.run_path": str(run.path.resolve()),
        "tailtune.name": str(run.config.get("name", "")),
        "tailtune.backend": str(run.metrics.get("backend", "")),
        "tailtune.model": str(run.metrics.get("model") or ""),
    }
    if env.get("git_sha"):
        tags["mlflow.source.git.commit"] = tags["tailtune.git_sha"] = str(env["git_sha"])
    files = [run.path / name for name in _FILES if (run.path / name).is_file()]
    files += sorted(run.path.glob("per_class*.csv"))
    model = run.path / layout.MODEL
    return RunSummary(
        name=str(run.config.get("name") or run.name), path=run.path, params=params,
        history=_history(run.history, finished, run.metrics), metrics=metrics, tags=tags,
        files=files, model_dir=model if with_model and model.is_dir() else None,
    )  # fmt: skip


def final_metrics(run, *, n_boot: int = 1000) -> dict[str, float]:
    """``{split}_{metric}`` for each evaluated split, tiers as ``{split}_{tier}_mean_f1``, and
    the bootstrap interval of macro F1, accuracy and each tier's mean F1 as ``..._low`` /
    ``..._high`` (95%, stratified by class, seed 0: the figures ``tailtune noise`` prints)."""
    from tailtune.evaluation.noise import bootstrap_ci

    out: dict[str, float] = {}
    tiers = run.labels.get("tiers") or None
    for split in ("val", "test"):
        m = run.metrics.get(split)
        if not isinstance(m, dict):
            continue
        out.update({f"{split}_{k}": float(m[k]) for k in _FINAL if m.get(k) is not None})
        for tier, t in (m.get("tiers") or {}).items():
            if t.get("mean_f1") is not None:
                out[f"{split}_{tier}_mean_f1"] = float(t["mean_f1"])
                out[f"{split}_{tier}_zero_f1"] = float(t["zero_f1"])
        frame = run.split_predictions(split)
        if len(frame) == 0:
            continue
        ci = bootstrap_ci(frame["gold"], frame["pred"], n_boot=n_boot, tiers=tiers)
        for key in ("macro_f1", "accuracy"):
            out[f"{split}_{key}_low"], out[f"{split}_{key}_high"] = _bounds(ci[key])
        for tier, interval in ci.get("tiers", {}).items():
            out[f"{split}_{tier}_mean_f1_low"], out[f"{split}_{tier}_mean_f1_high"] = _bounds(
                interval
            )
    timing = run.metrics.get("timing") or {}
    out.update({k: float(v) for k, v in timing.items() if isinstance(v, int | float)})
    info = run.metrics.get("info") or {}
    if isinstance(info.get("best_step"), int):
        out["best_step"] = float(info["best_step"])
    return out


def _bounds(interval: dict[str, float]) -> tuple[float, float]:
    return float(interval["low"]), float(interval["high"])


def _history(history: list[dict], finished: float, metrics: dict) -> list[tuple]:
    """(step, unix time, metrics) per evaluation; times from ``elapsed_s`` counted back from the
    end of training, so a tracker's time axis shows the run as it went."""
    if not history:
        return []
    fit_s = float((metrics.get("timing") or {}).get("fit_s") or history[-1].get("elapsed_s") or 0)
    start = finished - fit_s
    out = []
    for row in history:
        values = {}
        for key, value in row.items():
            if key in ("step", "elapsed_s") or not isinstance(value, int | float):
                continue
            values[HISTORY_NAMES.get(key, f"eval_{key}")] = float(value)
        out.append((int(row.get("step", 0)), start + float(row.get("elapsed_s") or 0), values))
    return out


def _param(value: Any) -> str:
    """A param as text: lists and mappings as JSON, null as "null" (MLflow keeps strings)."""
    if value is None:
        return "null"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)

"""Learning-curve runs: a config trained on nested stratified fractions of its training split.

The split is made once, with the config's own split settings, and the validation split is
written to one file that every fraction run reads through ``data.val_path``: only the training
split is subsampled, after the split, so every point of every curve is scored on the same
validation examples. Fractions are nested (for one seed, the 25 % rows are among the 50 % rows)
and stratified (every class keeps max(1, round(f · n_class)) of its rows), so a class's points
differ only in how many of its own examples the model saw.

The runs go through the experiment executors (``sequential``, ``processes``, ``ray``) and are
resumable: a run counts as done when a finished run directory with its config hash exists.
On a Ray cluster the advise folder must be on storage every node can read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailtune._atomic import atomic_path
from tailtune._settings import to_dict
from tailtune.advise.settings import FRACTIONS
from tailtune.config import Config, DataSettings, config_from_dict, config_to_dict
from tailtune.data.subsets import nested_fractions

__all__ = ["FractionRun", "classwise_halves", "plan_fractions", "run_fractions"]

EXECUTOR_NAMES = {"local": "sequential", "sequential": "sequential", "processes": "processes",
                  "ray": "ray"}  # fmt: skip
# The fraction files hold clean ``text, label`` frames: every reading, cleaning and subsetting
# option of the source data is back at its default (the rows are already loaded, cleaned and
# subset), the files are Parquet, and the path and validation file are set per run.
_DATA_RESET = {
    **{k: v for k, v in to_dict(DataSettings()).items() if k not in ("path", "val_path")},
    "format": "parquet",
}


def _keep_hierarchy(data: DataSettings) -> dict[str, Any]:
    """The hierarchy options a fraction run keeps: its ``label`` cells are paths joined by the
    separator, read as the same levels (named as the source run named them)."""
    if not data.hierarchy:
        return {}
    columns = data.label_columns if len(data.label_columns) > 1 else None
    return {
        "hierarchy": True,
        "label_separator": data.label_separator,
        "level_names": data.level_names or columns,
    }


@dataclass
class FractionRun:
    """One (fraction, seed) learning-curve run."""

    fraction: float
    seed: int
    config: dict[str, Any]  # the resolved config as a plain dict
    run_id: str  # config hash: how a re-run finds it finished
    run_name: str
    train_file: Path


def classwise_halves(n_classes: int, seeds) -> dict[int, np.ndarray]:
    """Which classes each seed subsamples in the ``classwise`` design (a boolean per class).

    The first seed reduces a random half, the second the other half, later seeds fresh random
    halves: every class is subsampled under at least one seed (given two), while the classes
    not subsampled keep all their rows. A class's curve then comes from runs where mostly the
    OTHER classes kept their size, as they do when a plan adds examples to a few classes only;
    with stratified fractions every class shrinks together, and a model's bias toward big
    classes (its share of the data) moves with the count. One seed: every class is reduced.
    """
    seeds = list(seeds)
    if len(seeds) < 2:
        return {s: np.ones(n_classes, dtype=bool) for s in seeds}
    out, prev = {}, None
    for i, s in enumerate(seeds):
        if i == 1:
            half = ~prev
        else:
            half = np.zeros(n_classes, dtype=bool)
            half[np.random.default_rng(1000 + int(s)).permutation(n_classes)[: n_classes // 2]] = (
                True
            )
        out[s], prev = half, half
    return out


def plan_fractions(
    cfg: Config,
    out_dir: Path,
    fractions=FRACTIONS,
    seeds=(1, 2, 3),
    design: str = "stratified",
) -> tuple[pd.DataFrame, pd.DataFrame, list[FractionRun]]:
    """Split ``cfg``'s data once, write the fraction files, return (train, val, runs).

    ``design`` is ``stratified`` (every class subsampled to each fraction) or ``classwise``
    (each seed subsamples half of the classes, :func:`classwise_halves`).

    Files go to ``out_dir/data``: ``val.parquet`` and ``train-f<percent>-s<seed>.parquet``.
    Each run's config is ``cfg`` with those files as its data (reading options reset, since the
    rows are already loaded, cleaned and subset) and the seed as both the subsample's seed and
    the training seed, so the seed spread covers both sources of run-to-run variation.
    """
    from tailtune.runs.index import run_config_hash
    from tailtune.workflow.prepare import prepare_data

    prepared = prepare_data(cfg)
    train, val = prepared.train.reset_index(drop=True), prepared.val.reset_index(drop=True)
    data_dir = Path(out_dir) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    val_file = data_dir / "val.parquet"
    _write(val[["text", "label"]], val_file)
    base = config_to_dict(cfg)
    runs = []
    n_classes = train["label"].nunique()
    halves = classwise_halves(n_classes, seeds) if design == "classwise" else {}
    for seed in seeds:
        parts = nested_fractions(train["label"], fractions, seed, halves.get(seed))
        for f, idx in parts.items():
            pct = int(round(100 * f))
            tag = "-classwise" if design == "classwise" and f < 1.0 else ""  # 100 %: same rows
            train_file = data_dir / f"train-f{pct}-s{seed}{tag}.parquet"
            _write(train.iloc[idx][["text", "label"]], train_file)
            raw = copy.deepcopy(base)
            raw["data"] = {**raw["data"], **_DATA_RESET, "path": str(train_file.resolve()),
                           "val_path": str(val_file.resolve()),
                           **_keep_hierarchy(cfg.data)}  # fmt: skip
            raw["split"] = {**raw["split"], "test": 0.0}
            raw.update(seed=int(seed), name=f"{cfg.name}-advise", runs_dir=str(out_dir / "runs"))
            resolved = config_from_dict(raw)
            rid = run_config_hash(resolved)
            runs.append(FractionRun(f, int(seed), config_to_dict(resolved), rid,
                                    f"f{pct}-s{seed}-{rid[:6]}", train_file))  # fmt: skip
    return train, val, runs


def run_fractions(
    runs: list[FractionRun],
    runs_dir: Path,
    *,
    executor: str = "local",
    workers: int = 2,
    ray_address: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[tuple[float, int], Path]:
    """Train every run not finished yet; returns {(fraction, seed): run directory}.

    Failed runs are reported through ``log`` and left out; a re-run retries them.
    """
    from tailtune.experiments import finished_runs, run_jobs
    from tailtune.experiments.executors import DEFAULT_TRAINER
    from tailtune.runs.index import ensure_index, index_run, run_key

    say = log or (lambda msg: None)
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    db = ensure_index(runs_dir)
    done = finished_runs(runs_dir)
    todo = [r for r in runs if r.run_id not in done]
    say(f"learning curves: {len(runs)} runs, {len(runs) - len(todo)} already finished, "
        f"{len(todo)} to train ({EXECUTOR_NAMES[executor]})")  # fmt: skip
    jobs = [{"key": run_key("advise", r.run_id), "config": r.config, "run_name": r.run_name,
             "runs_dir": str(runs_dir), "trainer": DEFAULT_TRAINER} for r in todo]  # fmt: skip
    by_key = {j["key"]: r for j, r in zip(jobs, todo, strict=True)}

    def on_result(res: dict[str, Any]) -> None:
        r = by_key[res["key"]]
        if res["status"] == "finished":
            index_run(db, res["run_dir"], experiment="advise", key=res["key"])
            say(f"  {int(round(100 * r.fraction))}% seed {r.seed}: {res['seconds']:.1f}s")
        else:
            say(f"  {int(round(100 * r.fraction))}% seed {r.seed}: failed ({res['error']})")

    run_jobs(jobs, EXECUTOR_NAMES[executor], workers=workers, ray_address=ray_address,
             on_result=on_result)  # fmt: skip
    done = finished_runs(runs_dir)
    return {(r.fraction, r.seed): done[r.run_id] for r in runs if r.run_id in done}


def _write(frame: pd.DataFrame, path: Path) -> None:
    """Write atomically, so an interrupted advise never leaves a half file a re-run would read."""
    with atomic_path(path) as tmp:
        frame.reset_index(drop=True).to_parquet(tmp, index=False)

"""``run_sweep``: the search, top to bottom — open the study, settle what a killed sweep left,
train trials in batches through the experiment executors while a pruner follows them, tell
each result, then write the best config and (when asked) confirm it on fresh seeds.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailtune.errors import ConfigError
from tailtune.experiments.executors import DEFAULT_TRAINER, ray_session, run_jobs
from tailtune.runs.index import ensure_index, index_run, mark_status, run_config_hash, run_key
from tailtune.sweep.prune import HistoryPruner
from tailtune.sweep.spec import SweepSpec, base_config
from tailtune.sweep.study import counted, open_study, settle_orphans, suggest, trial_dir_name
from tailtune.sweep.trials import recorded_base_hashes, trial_base, trial_score, with_values

__all__ = ["SweepResult", "run_sweep", "sweep_dir"]


@dataclass
class SweepResult:
    """What a sweep did: its folder, the trials, the best one, the confirmation."""

    spec: SweepSpec
    dir: Path
    storage: str
    trials: list[dict[str, Any]]
    trained: int  # trials trained by this call
    resumed_from: int  # trials that counted before this call
    best: dict[str, Any] | None = None
    best_config: Path | None = None
    confirmation: dict[str, Any] | None = None
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def sweep_dir(spec: SweepSpec, runs_dir: str | Path) -> Path:
    """``<runs_dir>/<sweep name>/``: the trials' runs, the study, the record."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in spec.name).strip(".-")
    return Path(runs_dir) / (safe or "sweep")


def run_sweep(
    spec: SweepSpec,
    *,
    log: Callable[[str], None] | None = None,
    trainer: str = DEFAULT_TRAINER,
) -> SweepResult:
    """Run (or resume) the sweep ``spec``; see the module docstring and docs/sweeps.md."""
    from optuna.trial import TrialState

    started = time.perf_counter()
    say = log or (lambda line: None)
    base = base_config(spec)
    root = Path(spec.runs_dir or base.runs_dir)
    folder = sweep_dir(spec, root)
    folder.mkdir(parents=True, exist_ok=True)
    storage = spec.storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    raw_base = trial_base(base, spec.name)
    fields = [p.field for p in spec.params]
    study = open_study(spec, storage, spec.workers, run_config_hash(raw_base),
                       lambda: recorded_base_hashes(folder, raw_base, fields))  # fmt: skip
    db, rel = ensure_index(root), folder.name

    def tell_finished(trial, run_dir, pruned: bool) -> dict[str, Any]:
        # ``trial`` is the asked Trial, or the number of one a stopped sweep left running
        score = trial_score(run_dir, spec.metric)
        if hasattr(trial, "set_user_attr"):
            for key, value in score.items():
                trial.set_user_attr(key, value)
        if pruned:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, score["value"])
        return score

    orphans = settle_orphans(study, folder, lambda n, d: tell_finished(n, d, False))
    before = counted(study)
    if before or orphans:
        say(f"sweep '{spec.name}': resuming the study in {storage}: {before} of {spec.trials} "
            f"trials done" + (f", {len(orphans)} left by a stopped sweep settled" if orphans else ""))  # fmt: skip
    pruner = HistoryPruner(folder, spec.metric) if spec.pruner != "none" else None
    if pruner is not None:
        pruner.start()
    stack = contextlib.ExitStack()
    if spec.executor == "ray":  # one Ray for every batch, not one start per batch
        stack.enter_context(ray_session(spec.workers, spec.ray_address))
    trained = 0
    asked: dict[str, tuple[Any, dict]] = {}  # job key -> (trial, values) of the batch in flight

    def on_start(job: dict) -> None:
        mark_status(db, job["key"], "running", config=job["config"], experiment=rel)
        if pruner is not None:
            pruner.follow(job["run_name"], asked[job["key"]][0])

    def on_result(res: dict) -> None:
        trial, values = asked[res["key"]]
        stem = trial_dir_name(trial.number)
        pruned = False
        if pruner is not None:
            pruner.forget(stem, res["run_dir"])
            pruned = stem in pruner.pruned
        shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        if res["status"] != "finished":
            mark_status(db, res["key"], "failed", error=res["error"])
            trial.set_user_attr("error", str(res["error"]))
            study.tell(trial, state=TrialState.FAIL)
            say(f"  trial {trial.number} ({shown}): failed: {res['error']}")
            return
        index_run(db, res["run_dir"], experiment=rel, key=res["key"])
        score = tell_finished(trial, res["run_dir"], pruned)
        how = "pruned, " if pruned else ""
        say(f"  trial {trial.number} ({shown}): {how}val {spec.metric} {score['value']:.4f}")

    try:
        while (done := counted(study)) < spec.trials:
            size = 1 if spec.executor == "sequential" else min(spec.workers, spec.trials - done)
            asked.clear()
            jobs = []
            for _ in range(size):
                trial = study.ask()
                values = suggest(trial, spec.params)
                trial.set_user_attr("values", json.dumps(values, default=str))
                try:
                    raw = with_values(raw_base, values)
                except ConfigError as exc:  # a combination the config refuses: a failed trial
                    trial.set_user_attr("error", str(exc))
                    study.tell(trial, state=TrialState.FAIL)
                    say(f"  trial {trial.number}: failed ({exc})")
                    continue
                stem = trial_dir_name(trial.number)
                key = run_key(rel, stem)  # a trial is its number: two may share a config
                asked[key] = (trial, values)
                jobs.append({"key": key, "config": raw, "run_name": stem,
                             "runs_dir": str(folder), "trainer": trainer})  # fmt: skip

            if jobs:
                run_jobs(jobs, spec.executor, workers=spec.workers, ray_address=spec.ray_address,
                         on_start=on_start, on_result=on_result, work_dir=folder)  # fmt: skip
                trained += len(jobs)
        from tailtune.sweep.record import finish_sweep

        result = SweepResult(spec, folder, storage, [], trained, before)
        finish_sweep(result, study, base, raw_base, trainer=trainer, say=say, db=db)
    finally:
        if pruner is not None:
            pruner.stop()
        stack.close()
    result.wall_s = round(time.perf_counter() - started, 2)
    return result


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

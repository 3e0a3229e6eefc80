"""Run an experiment top to bottom: plan, skip what is finished, execute the rest, record, plot.

Resumable by construction: a run counts as done when a finished run directory with its config
hash exists under the experiment folder (the index is updated to match), so an interrupted
experiment re-run trains only the missing or failed runs. Each run trains under its config's
lock (``<experiment>/.locks``): a second driver started on the same experiment (or a re-run
while a killed driver's worker is still dying) skips a config in progress elsewhere, and a
driver that takes a lock looks for a finished folder again before training, so no config is
trained twice. What a killed attempt of a config left (``.tmp-*`` / ``.interrupted-*``) is
removed before that config is trained again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailtune.experiments.executors import DEFAULT_TRAINER, run_jobs
from tailtune.experiments.plan import (
    PlannedRun,
    experiment_dir,
    finished_runs,
    plan_runs,
    runs_root,
)
from tailtune.experiments.record import build_record, write_record
from tailtune.experiments.spec import Experiment, load_experiment
from tailtune.runs.clean import find_unfinished
from tailtune.runs.index import ensure_index, index_run, mark_status, run_config_hash, run_key
from tailtune.runs.reader import is_run_dir, read_run
from tailtune.runs.writer import writable_runs_dir

__all__ = ["ExperimentResult", "run_experiment", "show_experiment"]


@dataclass
class ExperimentResult:
    """What ``run_experiment`` did and where it wrote it."""

    experiment: Experiment
    dir: Path
    planned: list[PlannedRun]
    skipped: list[str]  # run ids already finished before this call
    executed: list[str]  # run ids trained by this call
    failed: dict[str, str]  # run id -> error
    record: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    wall_s: float = 0.0
    busy: dict[str, str] = field(default_factory=dict)  # run id -> who holds its lock


def run_experiment(
    experiment: str | Path | Experiment,
    *,
    executor: str | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    runs_dir: str | Path | None = None,
    trainer: str = DEFAULT_TRAINER,
    log: Callable[[str], None] | None = None,
) -> ExperimentResult:
    """Run (or resume) an experiment file; arguments override the file's executor settings."""
    started = time.perf_counter()
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    say = log or (lambda msg: None)
    planned = plan_runs(exp)
    root, edir = runs_root(exp, runs_dir), experiment_dir(exp, runs_dir)
    writable_runs_dir(root, "--runs-dir" if runs_dir is not None else "runs_dir")
    edir.mkdir(parents=True, exist_ok=True)
    versions = _write_plan(exp, planned, edir)
    db = ensure_index(root)
    rel = edir.name

    done = finished_runs(edir)
    skipped = [p.run_id for p in planned if p.run_id in done]
    for rid in skipped:  # re-sync the index with what the folders say
        index_run(db, done[rid], experiment=rel, key=run_key(rel, rid))
    todo = [p for p in planned if p.run_id not in done]
    say(f"{exp.name}: {len(planned)} runs, {len(skipped)} already finished, {len(todo)} to run")

    jobs = []
    for p in todo:
        key = run_key(rel, p.run_id)
        jobs.append({"key": key, "config": p.config_dict(), "run_name": p.run_name,
                     "runs_dir": str(edir), "trainer": trainer})  # fmt: skip
    by_key = {run_key(rel, p.run_id): p for p in todo}
    failed: dict[str, str] = {}
    busy: dict[str, str] = {}
    trained: list[str] = []

    def on_result(res: dict[str, Any]) -> None:
        p = by_key[res["key"]]
        if res["status"] == "busy":  # another live driver trains it; its own index row stays
            busy[p.run_id] = res["error"]
            say(f"  {' / '.join(p.cell)} seed {p.seed}: skipped, {res['error']}")
            return
        if res["status"] == "finished":
            index_run(db, res["run_dir"], experiment=rel, key=res["key"])
            if not res.get("already"):
                trained.append(p.run_id)
        else:
            failed[p.run_id] = res["error"]
            mark_status(db, res["key"], "failed", error=res["error"])
        how = " (finished by another driver)" if res.get("already") else ""
        say(f"  {' / '.join(p.cell)} seed {p.seed}: {res['status']}{how}"
            + (f" ({res['error']})" if res["error"] else f" in {res['seconds']:.1f}s"))  # fmt: skip

    def prepare(job: dict[str, Any]) -> dict[str, Any] | None:
        # under the config's lock: whoever held it before may have finished it meanwhile
        p = by_key[job["key"]]
        found = _finished_dir(edir, p)
        if found is not None:
            return {"key": job["key"], "status": "finished", "run_dir": str(found),
                    "error": None, "seconds": 0.0, "already": True}  # fmt: skip
        _remove_leftovers(edir, p)
        return None

    def on_start(job: dict[str, Any]) -> None:
        mark_status(db, job["key"], "running", config=job["config"], experiment=rel)

    run_jobs(
        jobs, executor or exp.executor, workers=workers or exp.workers,
        ray_address=ray_address or exp.ray_address, on_result=on_result, on_start=on_start,
        lock_dir=edir / ".locks", prepare=prepare, work_dir=edir,
    )  # fmt: skip
    _sweep_locks(edir / ".locks")
    finished = finished_runs(edir)
    record = build_record(
        exp, planned, finished, failed, prediction_versions=versions, in_progress=busy
    )
    files = list(write_record(edir, record))
    files += _plots(exp, record, edir, say)
    files += _report(planned, finished, edir, say)
    return ExperimentResult(
        exp, edir, planned, skipped, [r for r in trained if r in finished],
        failed, record, files, round(time.perf_counter() - started, 2), busy,
    )  # fmt: skip


def _finished_dir(edir: Path, p: PlannedRun) -> Path | None:
    """A finished folder of this planned run (names end in its id's first 6 characters)."""
    for d in sorted(edir.glob(f"*{p.run_id[:6]}*")):
        try:
            if is_run_dir(d) and run_config_hash(read_run(d).config) == p.run_id:
                return d
        except Exception:  # unreadable: not finished
            continue
    return None


def _sweep_locks(lock_dir: Path) -> None:
    """Remove lock files nobody holds (left by a killed driver); held ones stay."""
    from tailtune.experiments.locks import ConfigLock

    for path in lock_dir.glob("*.lock"):
        lock = ConfigLock(path)
        if lock.acquire():
            lock.release()


def _remove_leftovers(edir: Path, p: PlannedRun) -> None:
    """Temp folders of earlier, killed attempts of this run: it is about to be trained anew."""
    import shutil

    for u in find_unfinished(edir):
        if u.kind != "jobs" and not u.in_progress and u.name.endswith(p.run_id[:6]):
            shutil.rmtree(u.path, ignore_errors=True)


def show_experiment(exp_dir: str | Path) -> dict[str, Any]:
    """The record of a run experiment (``record.json``), with the Markdown under ``markdown``."""
    from tailtune.errors import TailtuneError

    p = Path(exp_dir)
    if not (p / "record.json").is_file():
        raise TailtuneError(f"{p}: no record.json (run `tailtune experiment run FILE` first)")
    record = json.loads((p / "record.json").read_text(encoding="utf-8"))
    md = p / "record.md"
    record["markdown"] = md.read_text(encoding="utf-8") if md.is_file() else ""
    return record


def _write_plan(exp: Experiment, planned: list[PlannedRun], edir: Path) -> list[dict[str, Any]]:
    """Write experiment.json before running: the plan and every version of the prediction
    (tailtune.experiments.registry); returns the versions."""
    from tailtune.experiments.registry import register_prediction

    path = edir / "experiment.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    expected = exp.expected.to_dict() if exp.expected is not None else None
    versions = register_prediction(old, exp.prediction, expected, bool(finished_runs(edir)),
                                   time.strftime("%Y-%m-%dT%H:%M:%S"))  # fmt: skip
    plan = {
        "name": exp.name, "source": exp.source, "prediction": exp.prediction,
        "expected": expected, "prediction_written": versions[-1]["registered"],
        "prediction_versions": versions, "fields": exp.fields, "grid": exp.is_grid,
        "seeds": exp.seeds, "metric": exp.metric,
        "runs": [{"run_id": p.run_id, "values": p.values, "seed": p.seed} for p in planned],
    }  # fmt: skip
    path.write_text(json.dumps(plan, indent=2, default=str) + "\n", encoding="utf-8")
    return versions


def _plots(exp: Experiment, record: dict[str, Any], edir: Path, say) -> list[Path]:
    from tailtune.experiments.curves import plot_curves
    from tailtune.experiments.grid import plot_grid

    try:
        if exp.is_grid and len(exp.fields) >= 2:
            return plot_grid(record, edir, metric=exp.metric)
        return plot_curves(record, edir, metric=exp.metric)
    except Exception as exc:  # a plot must never cost the record
        say(f"  plots skipped: {type(exc).__name__}: {exc}")
        return []


def _report(planned, finished, edir: Path, say) -> list[Path]:
    try:
        from tailtune.report import build_report
    except ImportError:
        say("  comparison report skipped: tailtune.report.build_report is not available")
        return []
    # one run per value (its first finished seed): the report compares each with the first value,
    # and runs of one seed share their validation split, so its paired bootstrap applies
    first: dict[tuple, Path] = {}
    for p in planned:
        if p.run_id in finished:
            first.setdefault(p.cell, finished[p.run_id])
    try:
        out = build_report(
            list(first.values()), edir / "report.html", title=f"experiment {edir.name}"
        )
        return [Path(out)] if out else [edir / "report.html"]
    except Exception as exc:
        say(f"  comparison report skipped: {type(exc).__name__}: {exc}")
        return []

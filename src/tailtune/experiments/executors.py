"""Executors: run a list of training jobs sequentially, in local worker processes, or on Ray.

A job is a plain dict ``{key, config, run_name, runs_dir, trainer}``; a result is
``{key, status: finished|failed, run_dir, error, seconds}``. A failing run becomes a failed
result (never an exception), so one bad run does not lose the others. ``on_result`` is called in
the driver as each job ends, in completion order: that is where the experiment updates the index.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_TRAINER", "execute_job", "run_jobs", "ray_resources"]

DEFAULT_TRAINER = "tailtune.workflow:train"
NEURAL = ("embedding_head", "encoder", "decoder_lora", "cascade", "ensemble")
Result = dict[str, Any]


def run_jobs(
    jobs: list[dict[str, Any]],
    executor: str = "sequential",
    *,
    workers: int = 2,
    ray_address: str | None = None,
    on_result: Callable[[Result], None] | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
) -> list[Result]:
    """Run every job with the named executor; results come back in job order.

    ``on_start(job)`` is called as a job starts (on Ray: as it is submitted) and
    ``on_result(result)`` as it ends, both in the driver process.
    """
    on_result = on_result or (lambda r: None)
    on_start = on_start or (lambda j: None)
    if executor == "sequential":
        results = []
        for job in jobs:
            on_start(job)
            results.append(execute_job(job))
            on_result(results[-1])
    elif executor == "processes":
        results = _run_processes(jobs, workers, on_result, on_start)
    elif executor == "ray":
        results = _run_ray(jobs, workers, ray_address, on_result, on_start)
    else:
        raise ValueError(f"unknown executor {executor!r}")
    by_key = {r["key"]: r for r in results}
    return [by_key[j["key"]] for j in jobs]


def execute_job(job: dict[str, Any]) -> Result:
    """Train one job in this process; any exception becomes a failed result with its error."""
    from tailtune.config import config_from_dict

    started = time.perf_counter()
    try:
        module, _, attr = job.get("trainer", DEFAULT_TRAINER).partition(":")
        trainer = getattr(importlib.import_module(module), attr)
        cfg = config_from_dict(job["config"])
        path = trainer(cfg, quiet=True, run_name=job["run_name"], runs_dir=job["runs_dir"])
        status, run_dir, error = "finished", str(path), None
    except Exception as exc:  # the experiment records it and goes on with the other runs
        status, run_dir = "failed", None
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        traceback.print_exc()
    return {
        "key": job["key"], "status": status, "run_dir": run_dir, "error": error,
        "seconds": round(time.perf_counter() - started, 3),
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# local processes: one fresh `python -m tailtune.experiments._worker` per run, so a crash
# (segfault, out-of-memory kill, os._exit) fails that run only


def _run_processes(jobs, workers: int, on_result, on_start) -> list[Result]:
    results: list[Result] = []
    live: set[subprocess.Popen] = set()
    stop = threading.Event()
    restore = _sigterm_as_exit()
    try:
        with tempfile.TemporaryDirectory(prefix="tailtune-jobs-") as tmp:
            pool = ThreadPoolExecutor(max_workers=workers)
            try:
                run = lambda job: _run_in_subprocess(job, Path(tmp), on_start, live, stop)  # noqa: E731
                for fut in as_completed([pool.submit(run, job) for job in jobs]):
                    results.append(fut.result())
                    on_result(results[-1])
            except BaseException:
                # interrupted (Ctrl-C, SIGTERM): stop queued runs and end the running workers, so
                # no orphan keeps training; a re-run resumes from the finished run directories
                stop.set()
                for proc in list(live):
                    proc.kill()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        restore()
    return results


def _run_in_subprocess(job, tmp: Path, on_start, live: set, stop: threading.Event) -> Result:
    started = time.perf_counter()
    if stop.is_set():
        return _failed(job, "cancelled", started)
    on_start(job)
    stem = tmp / job["key"].replace("/", "_")
    job_file, result_file = stem.with_suffix(".job.json"), stem.with_suffix(".result.json")
    job_file.write_text(json.dumps(job, default=str), encoding="utf-8")
    cmd = [sys.executable, "-m", "tailtune.experiments._worker", str(job_file), str(result_file)]
    with open(stem.with_suffix(".log"), "w+", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_child_env())
        live.add(proc)
        try:
            proc.wait()
        finally:
            live.discard(proc)
        log.seek(0)
        lines = [ln for ln in log.read().strip().splitlines() if ln.strip()]
    if result_file.is_file():
        return json.loads(result_file.read_text(encoding="utf-8"))
    tail = lines[-1][:300] if lines else "no output"
    return _failed(job, f"worker process exited with code {proc.returncode}: {tail}", started)


def _failed(job, error: str, started: float) -> Result:
    return {"key": job["key"], "status": "failed", "run_dir": None, "error": error,
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip


def _sigterm_as_exit():
    """Make SIGTERM raise SystemExit in the driver (so cleanup runs); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, old)


def _child_env() -> dict[str, str]:
    """The child sees the driver's import path, so a trainer importable here is importable there."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    env["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys(paths + env.get("PYTHONPATH", "").split(os.pathsep))
    )
    return env


# ---------------------------------------------------------------------------------------------
# Ray: one task per run with the CPUs/GPUs its config needs


def ray_resources(config: dict[str, Any], cluster_gpus: float = 0.0) -> dict[str, float]:
    """``num_cpus``/``num_gpus`` a run asks Ray for: its torch threads (1 by default) and one GPU
    when it trains on CUDA (``train.device: cuda``, or ``auto`` for a neural backend on a
    cluster that has GPUs)."""
    train = config.get("train") or {}
    backend = (config.get("model") or {}).get("backend")
    device = train.get("device", "auto")
    gpu = device == "cuda" or (device == "auto" and backend in NEURAL and cluster_gpus > 0)
    return {"num_cpus": float(train.get("num_threads") or 1), "num_gpus": 1.0 if gpu else 0.0}


def _run_ray(jobs, workers: int, address: str | None, on_result, on_start) -> list[Result]:
    from tailtune._extras import require

    ray = require("ray", "the ray executor")
    started_here = not ray.is_initialized()
    if started_here and address:
        ray.init(address=address, log_to_driver=False)
    elif started_here:
        env = {"PYTHONPATH": _child_env()["PYTHONPATH"]}
        ray.init(
            num_cpus=workers, include_dashboard=False, log_to_driver=False,
            runtime_env={"env_vars": env},
        )  # fmt: skip
    try:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(max_retries=0)(execute_job)
        pending = {}
        for job in jobs:
            on_start(job)
            pending[task.options(**ray_resources(job["config"], gpus)).remote(job)] = job
        results = []
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            try:
                results.append(ray.get(done[0]))
            except Exception as exc:  # the worker died: that run fails, the rest go on
                error = f"ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                results.append({"key": job["key"], "status": "failed", "run_dir": None,
                                "error": error, "seconds": None})  # fmt: skip
            on_result(results[-1])
        return results
    finally:
        if started_here:
            ray.shutdown()

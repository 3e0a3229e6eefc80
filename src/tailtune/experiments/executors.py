"""Executors: run a list of training jobs sequentially, in local worker processes, or on Ray.

A job is a plain dict ``{key, config, run_name, runs_dir, trainer}``; a result is
``{key, status: finished|failed|busy, run_dir, error, seconds}``. A failing run becomes a failed
result (never an exception), so one bad run does not lose the others. ``on_result`` is called in
the driver as each job ends, in completion order: that is where the experiment updates the index.

Guarantees (all executors): with ``lock_dir`` a job runs only while its driver holds the job's
lock (:class:`~tailtune.experiments.locks.ConfigLock`); a job whose lock another live process
holds comes back ``busy`` without running, and ``prepare(job)``, called once the lock is held,
may answer for the job (e.g. "already finished by the driver that held the lock before").
The processes executor also starts each worker in its own session (process group) with a
parent-death signal (Linux ``PR_SET_PDEATHSIG``), so a worker never outlives its driver: on
Ctrl-C or SIGTERM the driver ends each worker's group (SIGTERM, then SIGKILL after a grace
period); on ``kill -9`` of the driver the kernel kills the workers. Its job files live in
``<work_dir>/.jobs-<driver pid>``, removed at the end, and left-overs of a dead driver are
removed by the next one.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import shutil
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

from tailtune.experiments.locks import ConfigLock
from tailtune.runs.index import pid_alive

__all__ = [
    "DEFAULT_TRAINER",
    "EXECUTORS",
    "execute_job",
    "ray_resources",
    "ray_session",
    "run_jobs",
]

DEFAULT_TRAINER = "tailtune.workflow:train"
PARENT_ENV = "TAILTUNE_EXECUTOR_PARENT"  # the driver's pid, checked by the worker at start
GRACE_S = 5.0  # how long a worker may take to stop on SIGTERM before SIGKILL
Result = dict[str, Any]


EXECUTORS = ("sequential", "processes", "ray")
"""The executors :func:`run_jobs` knows (an experiment file's ``executor`` field too)."""


def run_jobs(
    jobs: list[dict[str, Any]],
    executor: str = "sequential",
    *,
    workers: int = 2,
    ray_address: str | None = None,
    on_result: Callable[[Result], None] | None = None,
    on_start: Callable[[dict[str, Any]], None] | None = None,
    lock_dir: str | Path | None = None,
    prepare: Callable[[dict[str, Any]], Result | None] | None = None,
    work_dir: str | Path | None = None,
) -> list[Result]:
    """Run every job with the named executor; results come back in job order.

    ``on_start(job)`` is called as a job starts (on Ray: as it is submitted) and
    ``on_result(result)`` as it ends, both in the driver process. ``lock_dir`` turns on the
    per-job locks, ``prepare`` runs under a job's lock before it trains (a result it returns
    replaces training), ``work_dir`` holds the processes executor's job files (default: a
    temporary folder).
    """
    on_result = on_result or (lambda r: None)
    on_start = on_start or (lambda j: None)
    claim = _Claims(lock_dir, prepare)
    if executor == "sequential":
        results = []
        for job in jobs:
            lock, early = claim(job)
            if early is None:
                on_start(job)
                try:
                    early = execute_job(job)
                finally:
                    _release(lock)
            results.append(early)
            on_result(results[-1])
    elif executor == "processes":
        results = _run_processes(jobs, workers, on_result, on_start, claim, work_dir)
    elif executor == "ray":
        results = _run_ray(jobs, workers, ray_address, on_result, on_start, claim)
    else:
        raise ValueError(f"unknown executor {executor!r}")
    by_key = {r["key"]: r for r in results}
    return [by_key[j["key"]] for j in jobs]


class _Claims:
    """Take a job's lock and ask ``prepare``; returns ``(lock or None, early result or None)``."""

    def __init__(self, lock_dir, prepare):
        self.lock_dir = Path(lock_dir) if lock_dir is not None else None
        self.prepare = prepare

    def __call__(self, job: dict[str, Any]) -> tuple[ConfigLock | None, Result | None]:
        lock = None
        if self.lock_dir is not None:
            lock = ConfigLock(self.lock_dir / f"{job['key'].replace('/', '_')}.lock")
            if not lock.acquire():
                who = lock.holder() or {}
                where = f"process {who.get('pid', '?')} on {who.get('host', '?')}"
                return None, _result(job, "busy", f"in progress in {where} ({lock.path})", 0.0)
        try:
            early = self.prepare(job) if self.prepare is not None else None
        except BaseException:
            _release(lock)
            raise
        if early is not None:
            _release(lock)
            return None, early
        return lock, None


def _release(lock: ConfigLock | None) -> None:
    if lock is not None:
        lock.release()


def _result(job, status: str, error: str | None, seconds: float, run_dir=None) -> Result:
    return {"key": job["key"], "status": status, "run_dir": run_dir, "error": error,
            "seconds": round(seconds, 3)}  # fmt: skip


def execute_job(job: dict[str, Any]) -> Result:
    """Train one job in this process; any exception becomes a failed result with its error."""
    from tailtune.config import config_from_dict

    started = time.perf_counter()
    try:
        module, _, attr = job.get("trainer", DEFAULT_TRAINER).partition(":")
        trainer = getattr(importlib.import_module(module), attr)
        cfg = config_from_dict(job["config"])
        # the job's run name is the folder stem only: the config (and so the run's identity,
        # its config hash) keeps the experiment's name; trainers that name runs everywhere by
        # run_name take the stem as dir_name
        kwargs = {"quiet": True, "runs_dir": job["runs_dir"]}
        takes = inspect.signature(trainer).parameters
        kwargs["dir_name" if "dir_name" in takes else "run_name"] = job["run_name"]
        path = trainer(cfg, **kwargs)
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


def _run_processes(jobs, workers: int, on_result, on_start, claim, work_dir) -> list[Result]:
    results: list[Result] = []
    live: set[subprocess.Popen] = set()
    stop = threading.Event()
    restore = _sigterm_as_exit()
    base = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
    _remove_dead_job_folders(base)
    tmp = base / f".jobs-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            run = lambda job: _run_in_subprocess(job, tmp, on_start, live, stop, claim)  # noqa: E731
            for fut in as_completed([pool.submit(run, job) for job in jobs]):
                results.append(fut.result())
                on_result(results[-1])
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM): stop queued runs and end the running workers'
            # process groups, so no orphan keeps training; a re-run redoes what they left
            stop.set()
            _stop_all(list(live))
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        restore()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def _run_in_subprocess(job, tmp: Path, on_start, live: set, stop, claim) -> Result:
    started = time.perf_counter()
    if stop.is_set():
        return _failed(job, "cancelled", started)
    lock, early = claim(job)
    if early is not None:
        return early
    try:
        if stop.is_set():
            return _failed(job, "cancelled", started)
        on_start(job)
        stem = tmp / job["key"].replace("/", "_")
        job_file, result_file = stem.with_suffix(".job.json"), stem.with_suffix(".result.json")
        job_file.write_text(json.dumps(job, default=str), encoding="utf-8")
        cmd = [sys.executable, "-c", _BOOT, str(job_file), str(result_file)]
        fds = (lock.fd,) if lock is not None else ()
        with open(stem.with_suffix(".log"), "w+", encoding="utf-8") as log:
            # own session: Ctrl-C in the terminal reaches the driver only, which then ends the
            # whole group; the lock's descriptor goes along so the lock lives as long as the worker
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=_child_env(),
                start_new_session=True, pass_fds=fds,
            )  # fmt: skip
            live.add(proc)
            try:
                proc.wait()
            finally:
                live.discard(proc)
                _kill_group(proc.pid, signal.SIGKILL)  # anything the worker left in its group
            log.seek(0)
            lines = [ln for ln in log.read().strip().splitlines() if ln.strip()]
        if result_file.is_file():
            return json.loads(result_file.read_text(encoding="utf-8"))
        tail = lines[-1][:300] if lines else "no output"
        return _failed(job, f"worker process exited with code {proc.returncode}: {tail}", started)
    finally:
        _release(lock)


def _failed(job, error: str, started: float) -> Result:
    return _result(job, "failed", error, time.perf_counter() - started)


def _stop_all(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each worker's group (a training loop saves and exits), SIGKILL what remains."""
    for proc in procs:
        _kill_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        _kill_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _remove_dead_job_folders(base: Path) -> None:
    """Job folders of drivers that died without cleaning up (``kill -9``)."""
    for folder in base.glob(".jobs-*"):
        pid = folder.name.removeprefix(".jobs-")
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


# The worker's first lines, before any import of tailtune (which can take seconds with torch):
# tie its life to the driver's at once, so a driver killed during that import takes it along;
# `die_with_parent` in the worker repeats the check once tailtune is imported.
_BOOT = """
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
if os.getppid() != int(os.environ["TAILTUNE_EXECUTOR_PARENT"]):
    os._exit(1)  # the driver died before the line above
from tailtune.experiments._worker import main
main(sys.argv[1], sys.argv[2])
"""


def die_with_parent() -> None:
    """In a worker: ask Linux to SIGKILL us when the driver dies, and exit if it already has.

    ``PR_SET_PDEATHSIG`` (prctl(2)) fires when the thread that forked us ends; the driver's
    thread waits on this worker for its whole life, so that is the driver's death. The check of
    ``getppid`` after the call closes the race of a driver that died before it.
    """
    parent = os.environ.get(PARENT_ENV)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if parent and os.getppid() != int(parent):
        os._exit(1)


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
    env[PARENT_ENV] = str(os.getpid())
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
    gpu = device == "cuda" or (device == "auto" and _uses_gpu(backend) and cluster_gpus > 0)
    return {"num_cpus": float(train.get("num_threads") or 1), "num_gpus": 1.0 if gpu else 0.0}


@contextlib.contextmanager
def ray_session(workers: int = 2, address: str | None = None):
    """Ray for the block: the one already running, else one started here (the cluster at
    ``address``, or a local one with ``workers`` CPUs and this process's import path) and shut
    down at the end. A caller that runs several batches of jobs (a sweep) holds one session."""
    from tailtune._extras import require

    ray = require("ray", "the ray executor")
    if ray.is_initialized():
        yield ray
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        env = {"PYTHONPATH": _child_env()["PYTHONPATH"]}
        ray.init(
            num_cpus=workers, include_dashboard=False, log_to_driver=False,
            runtime_env={"env_vars": env},
        )  # fmt: skip
    try:
        yield ray
    finally:
        ray.shutdown()


def _run_ray(jobs, workers: int, address: str | None, on_result, on_start, claim) -> list[Result]:
    with ray_session(workers, address) as ray:
        return _ray_jobs(ray, jobs, on_result, on_start, claim)


def _ray_jobs(ray, jobs, on_result, on_start, claim) -> list[Result]:
    pending, locks = {}, {}
    try:
        gpus = float(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(max_retries=0)(execute_job)
        results = []
        for job in jobs:
            lock, early = claim(job)  # the driver holds each lock while its task is out
            if early is not None:
                results.append(early)
                on_result(early)
                continue
            on_start(job)
            ref = task.options(**ray_resources(job["config"], gpus)).remote(job)
            pending[ref], locks[ref] = job, lock
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            _release(locks.pop(done[0]))
            try:
                results.append(ray.get(done[0]))
            except Exception as exc:  # the worker died: that run fails, the rest go on
                error = f"ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                results.append({"key": job["key"], "status": "failed", "run_dir": None,
                                "error": error, "seconds": None})  # fmt: skip
            on_result(results[-1])
        return results
    finally:
        for lock in locks.values():
            _release(lock)


def _uses_gpu(backend: str | None) -> bool:
    """Whether the backend trains on a GPU when one is there (it says so itself)."""
    from tailtune.backends import BACKENDS, backend_class

    return backend in BACKENDS and backend_class(backend).uses_gpu

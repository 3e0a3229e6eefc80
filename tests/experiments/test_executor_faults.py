"""Fault injection for the processes executor, with real processes and real kills.

A driver (`run_experiment(..., executor processes)`) runs in a subprocess; it is SIGKILLed while
its workers train. Then: no worker survives it (their PIDs are checked), a re-run trains every
config exactly once (run folders and finished trainings counted), nothing temporary is left,
and the record equals an uninterrupted run's. Two drivers started at once on one experiment
share the work through the per-config locks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TRAINER

from tailtune.experiments import run_experiment
from tailtune.experiments.locks import ConfigLock
from tailtune.runs import list_runs, read_run
from tailtune.runs.index import pid_alive, run_config_hash, walk_runs

pytestmark = pytest.mark.integration

SLEEP_S = "1.0"  # each fake run takes this long, so a kill lands mid-run


def _env(tmp_path: Path, **extra) -> dict[str, str]:
    (tmp_path / "pids").mkdir(exist_ok=True)
    env = dict(os.environ, FAKE_PID_DIR=str(tmp_path / "pids"), FAKE_SLEEP_S=SLEEP_S)
    env.update(FAKE_DONE_LOG=str(tmp_path / "done.txt"), **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), *sys.path])
    return env


def _driver(path: Path, env: dict[str, str]) -> subprocess.Popen:
    code = (
        "from tailtune.experiments import run_experiment; "
        f"run_experiment({str(path)!r}, trainer={TRAINER!r})"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)


def _wait(cond, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out waiting"
        time.sleep(0.05)


def _finished(exp_dir: Path) -> list[Path]:
    return walk_runs(exp_dir) if exp_dir.is_dir() else []


def _worker_pids(tmp_path: Path) -> dict[int, str]:
    """pid -> run name of every worker that started training (the fake trainer's pid files)."""
    pids = tmp_path / "pids"
    return {int(p.name): p.read_text() for p in pids.iterdir()} if pids.is_dir() else {}


def _mid_run(tmp_path: Path, exp_dir: Path, seen: set[int]) -> list[int]:
    """Workers started after ``seen`` that are alive and whose run has no finished folder yet."""
    done = {d.name for d in _finished(exp_dir)}
    return [
        pid for pid, name in _worker_pids(tmp_path).items()
        if pid not in seen and name and pid_alive(pid)
        and not any(d.startswith(f"{name}-") for d in done)
    ]  # fmt: skip


def _kill_mid_run(path: Path, tmp_path: Path, exp_dir: Path, finished_before: int) -> list[int]:
    """Start a driver, SIGKILL it once a new run finished and workers are mid-run; return the
    PIDs of the workers that were mid-run at the kill."""
    seen = set(_worker_pids(tmp_path))
    driver = _driver(path, _env(tmp_path))
    try:
        _wait(lambda: len(_finished(exp_dir)) > finished_before
              and _mid_run(tmp_path, exp_dir, seen))  # fmt: skip
        live = _mid_run(tmp_path, exp_dir, seen)
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == -signal.SIGKILL
    return live


def _table(exp_dir: Path) -> dict[tuple, tuple]:
    """(batch size, seed) -> (macro F1, predictions) of every finished run, from the folders."""
    out = {}
    for d in _finished(exp_dir):
        run = read_run(d)
        key = (run.config["train"]["batch_size"], run.config["seed"])
        out[key] = (run.metrics["val"]["macro_f1"], tuple(run.predictions["pred"]))
    return out


def test_sigkill_of_the_driver_twice_then_rerun_trains_each_config_once(write_exp, tmp_path):
    path = write_exp("faults", executor="processes", workers=2)  # 2 values x 3 seeds = 6 runs
    exp_dir = tmp_path / "runs" / "faults"
    survivors = []
    for _ in range(2):  # killed twice in a row, each time with workers mid-run
        before = len(_finished(exp_dir))
        live = _kill_mid_run(path, tmp_path, exp_dir, before)
        assert live, "the kill should land while a worker trains"
        print(
            f"kill {_ + 1}: {len(_finished(exp_dir))} of 6 finished, {len(live)} worker(s) mid-run"
        )
        _wait(lambda live=live: not any(pid_alive(p) for p in live), timeout=10)
        survivors += [p for p in live if pid_alive(p)]
    assert survivors == []  # every worker died with its driver
    after_kills = len(_finished(exp_dir))
    assert 2 <= after_kills < 6
    assert list(exp_dir.glob(".tmp-*")), "killed workers leave their temporary run folders"
    assert list(exp_dir.glob(".jobs-*")), "a SIGKILLed driver cannot remove its job folder"

    os.environ.update(FAKE_DONE_LOG=str(tmp_path / "done.txt"))
    try:
        res = run_experiment(path, trainer=TRAINER, executor="processes")
    finally:
        del os.environ["FAKE_DONE_LOG"]
    assert len(res.skipped) == after_kills and len(res.executed) == 6 - after_kills
    assert not res.failed and not res.busy

    folders = _finished(exp_dir)
    ids = [run_config_hash(read_run(d).config) for d in folders]
    assert len(folders) == 6 and sorted(ids) == sorted(p.run_id for p in res.planned)
    done = (tmp_path / "done.txt").read_text().splitlines()
    assert len(done) == 6 and len(set(done)) == 6  # each config finished training exactly once
    assert not list(exp_dir.glob(".tmp-*")) and not list(exp_dir.glob(".interrupted-*"))
    assert not list(exp_dir.glob(".jobs-*"))  # the dead drivers' job folders are gone too
    assert not list((exp_dir / ".locks").glob("*.lock"))

    ref = run_experiment(write_exp("ref", runs_dir=str(tmp_path / "ref")), trainer=TRAINER)
    table = _table(exp_dir)
    assert len(table) == 6 and table == _table(ref.dir)  # same metrics and predictions
    assert res.record["result"]["cells"][1]["macro_f1"] == ref.record["result"]["cells"][1]["macro_f1"]  # fmt: skip


def test_two_drivers_at_once_train_each_config_once(write_exp, tmp_path):
    path = write_exp("twice", executor="processes", workers=2, seeds=[1])
    env = _env(tmp_path, FAKE_SLEEP_S="0.5")
    drivers = [_driver(path, env), _driver(path, env)]
    assert [d.wait(120) for d in drivers] == [0, 0]
    exp_dir = tmp_path / "runs" / "twice"
    done = (tmp_path / "done.txt").read_text().splitlines()
    assert len(_finished(exp_dir)) == 2 and len(done) == 2 and len(set(done)) == 2
    assert list(list_runs(tmp_path / "runs")["status"]) == ["finished"] * 2
    assert json.loads((exp_dir / "record.json").read_text())["failed"] == []


def test_stale_lock_of_a_dead_pid_is_taken_over_and_a_held_one_is_not(tmp_path):
    lock_path = tmp_path / ".locks" / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from tailtune.experiments.locks import ConfigLock; "
         "assert ConfigLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)",
         str(lock_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = ConfigLock(lock_path)
        assert lock.acquire() is False
        assert lock.holder()["pid"] == holder.pid and lock.holder()["alive"] is True
        holder.kill()
        holder.wait(10)
        assert lock.holder()["alive"] is False  # the file still names the dead holder ...
        assert lock.acquire() is True  # ... and its lock is taken over
        assert lock.holder()["pid"] == os.getpid()
        lock.release()
        assert not lock_path.exists()
    finally:
        holder.kill()

"""Running experiments: record numbers, verdicts, resume after a kill, failures, parallel executors."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TRAINER

from tailtune.experiments import run_experiment, show_experiment
from tailtune.runs import list_runs, read_run

pytestmark = pytest.mark.integration


def _table(result):
    """(value, seed) -> macro F1 from the run dirs, independent of the record code."""
    out = {}
    for cell in result.record["result"]["cells"]:
        for r in cell["runs"]:
            out[(cell["label"], r["seed"])] = read_run(r["run_dir"]).metrics["val"]["macro_f1"]
    return out


def test_sequential_record_numbers_and_meaningful_verdict(write_exp):
    res = run_experiment(write_exp(), trainer=TRAINER)
    assert len(res.executed) == 6 and not res.skipped and not res.failed
    rec = res.record
    cells = rec["result"]["cells"]
    assert [c["label"] for c in cells] == ["32", "4"]
    table = _table(res)
    for c in cells:
        vals = [table[(c["label"], s)] for s in (1, 2, 3)]
        assert c["macro_f1"]["mean"] == pytest.approx(statistics.fmean(vals))
        assert c["macro_f1"]["std"] == pytest.approx(statistics.stdev(vals))
    delta = cells[1]["macro_f1"]["mean"] - cells[0]["macro_f1"]["mean"]
    assert cells[1]["delta"]["macro_f1"] == pytest.approx(delta)
    assert delta > 0.2  # p(correct) 0.55 -> 0.85 in the fake trainer
    comp = rec["meaningful"]["comparisons"][0]
    assert comp["verdict"] == "meaningful"
    assert comp["seed_spread"]["passes"] is True
    assert [p["seed"] for p in comp["paired_bootstrap"]] == [1, 2, 3]
    assert all(p["low"] > 0 for p in comp["paired_bootstrap"])
    assert set(cells[1]["tier_delta"]) == {"head", "mid", "tail"}
    md = (res.dir / "record.md").read_text()
    for field in ("Variable changed", "Held constant", "Prediction", "Result", "Meaningful?"):
        assert f"**{field}" in md
    assert "`train.lr`: 2e-05" in md and "meaningful: Δ macro_f1 = +" in md
    assert json.loads((res.dir / "record.json").read_text())["prediction"] == rec["prediction"]
    assert (res.dir / "curve_train_batch_size.png").stat().st_size > 1000
    assert show_experiment(res.dir)["markdown"] == md
    idx = list_runs(res.dir.parent, where=["experiment=bs"], sort="macro_f1")
    assert len(idx) == 6 and set(idx["status"]) == {"finished"}
    assert list(idx["seed"].head(3).sort_values()) == [1, 2, 3]  # batch 4 runs sort first


def test_no_effect_is_not_meaningful(write_exp):
    res = run_experiment(write_exp(vary={"train.weight_decay": [0.0, 0.1]}), trainer=TRAINER)
    comp = res.record["meaningful"]["comparisons"][0]
    assert comp["seed_spread"]["delta"] == 0.0  # same seed, same predictions
    assert comp["verdict"] == "not meaningful"
    assert comp["sentence"].startswith("not meaningful: Δ macro_f1 = +0.0000 is within seed noise")


def test_one_seed_is_explore_only(write_exp):
    res = run_experiment(write_exp(seeds=[5]), trainer=TRAINER)
    comp = res.record["meaningful"]["comparisons"][0]
    assert comp["verdict"] == "explore" and "confirm with 3 seeds" in comp["sentence"]


def test_rerun_skips_finished_runs(write_exp):
    path = write_exp()
    first = run_experiment(path, trainer=TRAINER)
    again = run_experiment(path, trainer=TRAINER)
    assert sorted(again.skipped) == sorted(first.executed) and again.executed == []
    assert (
        again.record["result"]["cells"][1]["macro_f1"]
        == first.record["result"]["cells"][1]["macro_f1"]
    )


def test_killed_experiment_resumes_with_only_missing_runs(write_exp, tmp_path):
    path = write_exp()
    log = tmp_path / "calls.txt"
    env = dict(os.environ, FAKE_TRAINER_LOG=str(log), FAKE_DIE_AT="4")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), *sys.path])
    code = f"from tailtune.experiments import run_experiment; run_experiment({str(path)!r}, trainer={TRAINER!r})"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 9  # killed while training the 4th run
    assert len(log.read_text().splitlines()) == 4
    idx = list_runs(tmp_path / "runs")
    assert sorted(idx["status"]) == ["finished"] * 3 + ["interrupted"]  # its process is gone
    os.environ["FAKE_TRAINER_LOG"] = str(log)
    try:
        res = run_experiment(path, trainer=TRAINER)
    finally:
        del os.environ["FAKE_TRAINER_LOG"]
    calls = log.read_text().splitlines()
    assert len(res.skipped) == 3 and len(res.executed) == 3
    assert calls[3] == calls[4]  # the killed run is the first one redone
    assert len(set(calls)) == 6  # every planned run trained exactly once to completion
    assert set(list_runs(tmp_path / "runs")["status"]) == {"finished"}


def test_failed_run_is_recorded_and_others_kept_then_retried(write_exp, tmp_path):
    path = write_exp(vary={"train.lr": [2e-5, 0.5]}, seeds=[1, 2])
    res = run_experiment(path, trainer=TRAINER)
    assert len(res.failed) == 2 and len(res.executed) == 2
    assert res.record["failed"][0]["error"] == "RuntimeError: loss is nan at step 3"
    failed = list_runs(tmp_path / "runs", where=["status=failed"])
    assert list(failed["error"]) == ["RuntimeError: loss is nan at step 3"] * 2
    again = run_experiment(path, trainer=TRAINER)
    assert len(again.skipped) == 2 and len(again.failed) == 2  # failed ones were retried


@pytest.mark.parametrize("workers", [2])
def test_processes_executor_survives_a_crash_and_matches_sequential(write_exp, tmp_path, workers):
    seq = run_experiment(write_exp("seq", seeds=[1, 2]), trainer=TRAINER)
    par = run_experiment(
        write_exp("par", seeds=[1, 2], executor="processes", workers=workers), trainer=TRAINER
    )
    assert _table(par) == _table(seq)
    crash = run_experiment(
        write_exp("crash", vary={"train.lr": [2e-5, 0.25]}, seeds=[1], executor="processes"),
        trainer=TRAINER,
    )
    assert len(crash.executed) == 1 and len(crash.failed) == 1
    assert all(e.startswith("worker process exited with code 7") for e in crash.failed.values())


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has exited


def test_sigterm_to_a_process_experiment_ends_its_workers_and_resume_finishes(write_exp, tmp_path):
    import signal
    import time

    path = write_exp("term", seeds=[1], executor="processes", workers=2)
    pids = tmp_path / "pids"
    pids.mkdir()
    env = dict(os.environ, FAKE_SLEEP_BATCH="4", FAKE_PID_DIR=str(pids))
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), *sys.path])
    code = f"from tailtune.experiments import run_experiment; run_experiment({str(path)!r}, trainer={TRAINER!r})"
    driver = subprocess.Popen([sys.executable, "-c", code], env=env)
    exp_dir = tmp_path / "runs" / "term"
    deadline = time.time() + 90
    while time.time() < deadline and not (
        list(pids.iterdir()) and any(exp_dir.glob("batch_size32-*"))
    ):
        time.sleep(0.2)
    worker = int(next(pids.iterdir()).name)
    assert _alive(worker)
    driver.send_signal(signal.SIGTERM)
    assert driver.wait(30) != 0
    time.sleep(0.5)
    assert not _alive(worker)  # no orphan keeps training
    res = run_experiment(path, trainer=TRAINER)
    assert len(res.skipped) == 1 and len(res.executed) == 1

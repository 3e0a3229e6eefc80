"""tailtune sweep: a real Optuna study in SQLite over real runs; pruning; kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tailtune.config import load_config
from tailtune.runs import read_run
from tailtune.runs.index import list_runs
from tailtune.runs.reader import is_run_dir
from tailtune.sweep import load_sweep, run_sweep

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.integration


def _spec(tmp_path, name: str, **fields) -> Path:
    body = {
        "name": name,
        "set": ["data.synthetic=tiny", "model.backend=tfidf", f"runs_dir={tmp_path / 'runs'}"],
        "params": [
            {"field": "model.tfidf.C", "low": 0.01, "high": 10.0, "log": True},
            {"field": "objective.class_weights", "choices": ["none", "sqrt_inverse"]},
        ],
        "trials": 3,
        "pruner": "none",
    }
    body.update(fields)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def _study(folder: Path, name: str):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'study.db'}")


def test_trials_are_runs_and_the_best_is_written_with_its_honest_reading(tmp_path):
    spec = load_sweep(_spec(tmp_path, "tiny", confirm=2, set=[
        "data.synthetic=tiny", "model.backend=tfidf", "split.test=0.2",
        f"runs_dir={tmp_path / 'runs'}"]))  # fmt: skip
    lines: list[str] = []
    result = run_sweep(spec, log=lines.append)
    folder = tmp_path / "runs" / "tiny"
    trials = sorted(folder.glob("trial-*"))
    assert len(trials) == 3 and all(is_run_dir(t) for t in trials)
    scores = {}
    for t in trials:
        run = read_run(t)
        # a trial reads no test split and does not refit: it is scored on validation only
        assert "test" not in run.metrics and run.config["train"]["refit"] is False
        assert run.data["test_held_out"]["rows"] > 0  # carved, so never trained on
        scores[t.name] = run.metrics["val"]["macro_f1"]
    assert result.best["value"] == pytest.approx(max(scores.values()))
    study = _study(folder, "tiny")
    assert study.best_value == pytest.approx(max(scores.values()))
    assert {r["run_dir"] for r in list_runs(tmp_path / "runs").to_dict("records")} >= {
        f"tiny/{t.name}" for t in trials
    }
    # best.yaml trains the best trial's values on the base config, test split included
    best = load_config(folder / "best.yaml")
    assert best.name == "tiny-best" and best.split.test == 0.2
    assert pytest.approx(result.best["values"]["model.tfidf.C"]) == best.model.tfidf.C
    # confirmation: two fresh seeds, mean and sd of the runs' own figures
    conf = result.confirmation
    runs = [read_run(p) for p in conf["runs"]]
    assert sorted(r.config["seed"] for r in runs) == [43, 44]
    val = [r.metrics["val"]["macro_f1"] for r in runs]
    assert conf["val"]["mean"] == pytest.approx(statistics.fmean(val))
    assert conf["val"]["sd"] == pytest.approx(statistics.stdev(val))
    assert conf["test"]["mean"] == pytest.approx(
        statistics.fmean(r.metrics["test"]["macro_f1"] for r in runs)
    )
    assert conf["noise"]["split"] == "test" and conf["noise"]["macro_f1_half_width"] > 0
    text = "\n".join(lines)
    assert "optimistic" in text and "chosen on the same validation data" in text
    record = json.loads((folder / "sweep.json").read_text())
    assert len(record["trials"]) == 3 and record["best"]["number"] == result.best["number"]


def test_hopeless_trials_are_pruned_from_their_history_and_kept_as_runs(tmp_path, monkeypatch):
    monkeypatch.setattr("tailtune.sweep.prune.POLL_S", 0.02)
    spec = load_sweep(_spec(
        tmp_path, "prune", trials=7, pruner="median", startup_trials=2, warmup_evals=1, seed=3,
        params=[{"field": "train.lr", "low": 1e-5, "high": 1.0, "log": True}],
    ))  # fmt: skip
    result = run_sweep(spec, trainer="tests.sweep.history_trainer:train")
    pruned = [t for t in result.trials if t["state"] == "pruned"]
    assert pruned, [(t["state"], t.get("evals")) for t in result.trials]
    for t in pruned:
        # the trial saw STOP, ended at an earlier evaluation, and its run is still written
        assert t["stop_reason"] == "stop_requested" and t["evals"] < 5
        assert is_run_dir(Path(t["run_dir"]))
    complete = [t for t in result.trials if t["state"] == "complete"]
    assert all(t["evals"] == 5 for t in complete)
    assert len(pruned) + len(complete) == 7


def test_a_trial_is_scored_on_its_best_checkpoint_not_its_last_evaluation(tmp_path):
    from tailtune.runs import RunWriter, layout
    from tailtune.sweep.trials import trial_score

    with RunWriter(tmp_path, "t") as w:
        w.write_text(layout.CONFIG, "name: t\n")
        w.write_json(layout.METRICS, {"val": {"macro_f1": 0.8}})
        w.write_text(layout.HISTORY, "".join(
            json.dumps({"step": s, "macro_f1": v}) + "\n" for s, v in [(1, 0.5), (2, 0.8), (3, 0.6)]
        ))  # fmt: skip
    score = trial_score(w.final_path, "macro_f1")
    assert score["value"] == 0.8 and score["last_eval"] == 0.6 and score["best_eval"] == 0.8


def _start(spec: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen(
        [sys.executable, "-m", "tailtune", "sweep", str(spec)],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip


def test_a_killed_sweep_resumes_its_study_without_losing_or_repeating_trials(tmp_path):
    spec = _spec(tmp_path, "killed", trials=6, executor="processes", workers=2)
    folder = tmp_path / "runs" / "killed"
    proc = _start(spec, tmp_path / "first.log")
    deadline = time.monotonic() + 300
    while sum(is_run_dir(p) for p in folder.glob("trial-*")) < 2:
        assert proc.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "no two trials finished in 300 s"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its group, mid-sweep
    proc.wait()
    study = _study(folder, "killed")
    assert len(study.trials) < 6 or any(t.state.name == "RUNNING" for t in study.trials)

    again = _start(spec, tmp_path / "second.log")
    assert again.wait(300) == 0, (tmp_path / "second.log").read_text()[-3000:]
    out = (tmp_path / "second.log").read_text()
    assert "resuming the study" in out and "optimistic" in out
    study = _study(folder, "killed")
    states = [t.state.name for t in study.trials]
    assert "RUNNING" not in states and states.count("COMPLETE") == 6
    # the resumed sampler does not replay the first draws: no completed trial repeats another
    done = [
        json.dumps(t.params, sort_keys=True) for t in study.trials if t.state.name == "COMPLETE"
    ]
    assert len(set(done)) == 6
    requeued = {
        t.user_attrs["requeued_from"] for t in study.trials if "requeued_from" in t.user_attrs
    }
    assert {t.number for t in study.trials if t.state.name == "FAIL"} == requeued
    # one finished run folder per completed trial, none for a trial that did not complete
    finished = sorted(p.name.split("-")[1] for p in folder.glob("trial-*") if is_run_dir(p))
    assert finished == sorted(f"{t.number:04d}" for t in study.trials if t.state.name == "COMPLETE")
    rows = list_runs(tmp_path / "runs").to_dict("records")
    assert sum(str(r["run_dir"]).startswith("killed/trial-") for r in rows) == 6


def test_a_study_is_not_resumed_over_another_base_config(tmp_path):
    from tailtune.errors import ConfigError

    run_sweep(load_sweep(_spec(tmp_path, "same", trials=1)))
    other = _spec(tmp_path, "same", trials=2, set=[
        "data.synthetic=tiny", "model.backend=tfidf", "split.val=0.3", f"runs_dir={tmp_path / 'runs'}"
    ])  # fmt: skip
    with pytest.raises(
        ConfigError, match="was run with another base config; give the sweep a new name"
    ):
        run_sweep(load_sweep(other))


def test_a_study_resumes_after_tailtune_gained_settings(tmp_path):
    """A study started by an older tailtune stored the hash of a base without today's newer
    settings; the trials' own config.yaml files show the base was the same, so it resumes."""
    run_sweep(load_sweep(_spec(tmp_path, "older", trials=1)))
    folder = tmp_path / "runs" / "older"
    (trial,) = sorted(folder.glob("trial-*"))
    recorded = yaml.safe_load((trial / "config.yaml").read_text())
    # as a tailtune before that setting wrote it (model.long_text, which tfidf does not read,
    # is already left out of its record)
    assert "long_text" not in recorded["model"]
    del recorded["data"]["keep_empty_set"]
    (trial / "config.yaml").write_text(yaml.safe_dump(recorded))
    _study(folder, "older").set_user_attr("base_config", "0123456789ab")  # its older hash
    lines: list[str] = []
    result = run_sweep(load_sweep(_spec(tmp_path, "older", trials=2)), log=lines.append)
    assert len(result.trials) == 2 and "resuming the study" in "\n".join(lines)
    assert _study(folder, "older").user_attrs["base_config"] != "0123456789ab"


def test_a_config_yaml_without_newer_settings_hashes_as_with_their_defaults():
    from tailtune.config import Config, config_to_dict
    from tailtune.runs.index import run_config_hash

    full = config_to_dict(Config(name="h", seed=4))
    older = yaml.safe_load(yaml.safe_dump(full))
    del older["model"]["long_text"], older["objective"]["threshold_shrink"]
    assert run_config_hash(older) == run_config_hash(full)
    older["model"]["long_text"] = "chunk_mean"
    assert run_config_hash(older) != run_config_hash(full)


@pytest.mark.ray
@pytest.mark.slow  # a local Ray takes half a minute to start on 2 busy cores
def test_trials_train_on_ray_workers_and_prune_through_the_shared_folder(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setattr("tailtune.sweep.prune.POLL_S", 0.02)
    spec = load_sweep(_spec(
        tmp_path, "on-ray", trials=4, executor="ray", workers=2, pruner="median",
        startup_trials=2, warmup_evals=1, seed=3,
        params=[{"field": "train.lr", "low": 1e-5, "high": 1.0, "log": True}],
    ))  # fmt: skip
    result = run_sweep(spec, trainer="tests.sweep.history_trainer:train")  # starts and stops Ray
    states = [t["state"] for t in result.trials]
    assert len(states) == 4 and set(states) <= {"complete", "pruned"}
    for t in result.trials:  # each trial is a run, scored on its best evaluation
        assert is_run_dir(Path(t["run_dir"])) and t["value"] == pytest.approx(t["best_eval"])

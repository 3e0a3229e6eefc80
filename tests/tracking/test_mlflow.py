"""train.report_to: mlflow against a real tracking server, a dead one, and the local store."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from tailtune.config import config_from_dict
from tailtune.runs import read_run
from tailtune.tracking import TrackingWarning
from tailtune.workflow import train
from tests.export.conftest import FAST_TRAIN, make_run
from tests.tracking.conftest import free_port

pytestmark = pytest.mark.integration
mlflow = pytest.importorskip("mlflow")


def _tfidf_cfg(tmp_path, **train_fields):
    return config_from_dict({
        "name": "tiny-tracked", "runs_dir": str(tmp_path / "runs"),
        "data": {"synthetic": "tiny"}, "model": {"backend": "tfidf"},
        "split": {"test": 0.2}, "train": train_fields,
    })  # fmt: skip


def test_a_tfidf_run_reaches_the_server(tmp_path, mlflow_server, monkeypatch):
    """The default suite's real-server test: a linear run (seconds), the server's round trip."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = _tfidf_cfg(tmp_path, report_to=["mlflow"], tracking_uri=mlflow_server,
                     tracking_experiment="tailtune-tests-linear")  # fmt: skip
    path = train(cfg, log=lambda _line: None)
    run = read_run(path)
    client = mlflow.MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("tailtune-tests-linear")
    (found,) = client.search_runs([exp.experiment_id], f"tags.`tailtune.run` = '{path.name}'")
    assert found.info.status == "FINISHED"
    assert found.data.params["model.backend"] == "tfidf"
    assert found.data.tags["tailtune.run_path"] == str(path.resolve())
    m = found.data.metrics
    assert m["val_macro_f1"] == pytest.approx(run.metrics["val"]["macro_f1"])
    assert m["test_macro_f1"] == pytest.approx(run.metrics["test"]["macro_f1"])
    assert m["test_macro_f1_low"] <= m["test_macro_f1"] <= m["test_macro_f1_high"]
    names = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"metrics.json", "per_class.csv", "config.yaml"} <= names


@pytest.mark.slow  # a fine-tune on top of the server: per-step metrics (about a minute on 2 cores)
def test_an_encoder_run_reaches_the_server_whole(tmp_path, mlflow_server, tiny_bert_dir):
    run_dir = make_run(
        tmp_path, "enc", {"backend": "encoder", "name": str(tiny_bert_dir), "max_length": 32},
        train={**FAST_TRAIN, "report_to": ["mlflow"], "tracking_uri": mlflow_server,
               "tracking_experiment": "tailtune-tests"},
    )  # fmt: skip
    run = read_run(run_dir)
    client = mlflow.MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("tailtune-tests")
    (found,) = client.search_runs([exp.experiment_id], f"tags.`tailtune.run` = '{run_dir.name}'")
    assert found.info.status == "FINISHED"
    # params: the resolved config, flattened
    assert found.data.params["model.backend"] == "encoder"
    assert float(found.data.params["train.lr"]) == pytest.approx(FAST_TRAIN["lr"])
    assert found.data.params["train.report_to"] == '["mlflow"]'
    # per-step metrics: one point per evaluation of history.jsonl, at its optimizer step
    points = client.get_metric_history(found.info.run_id, "eval_macro_f1")
    assert [p.step for p in points] == [r["step"] for r in run.history]
    assert [p.value for p in points] == pytest.approx([r["macro_f1"] for r in run.history])
    assert len(client.get_metric_history(found.info.run_id, "train_loss")) == len(run.history)
    # final metrics: the run's own figures, with bootstrap intervals around them
    m = found.data.metrics
    assert m["val_macro_f1"] == pytest.approx(run.metrics["val"]["macro_f1"])
    assert m["val_macro_f1_low"] <= m["val_macro_f1"] <= m["val_macro_f1_high"]
    for tier, t in run.metrics["val"]["tiers"].items():
        if t["mean_f1"] is not None:
            assert m[f"val_{tier}_mean_f1"] == pytest.approx(t["mean_f1"])
            assert m[f"val_{tier}_mean_f1_low"] <= m[f"val_{tier}_mean_f1_high"]
    # tags lead back to the run; artifacts are the run's files and its report
    assert found.data.tags["tailtune.run_path"] == str(run_dir.resolve())
    assert found.data.tags["tailtune.backend"] == "encoder"
    names = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"metrics.json", "per_class.csv", "config.yaml", "report.html"} <= names
    local = client.download_artifacts(found.info.run_id, "metrics.json", str(tmp_path))
    assert json.loads(Path(local).read_text()) == run.metrics


def test_a_dead_server_costs_one_warning_and_the_run_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = train(_tfidf_cfg(tmp_path, report_to=["mlflow"], tracking_uri=dead),
                     log=lines.append)  # fmt: skip
    ours = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "\n" not in message and dead in message and str(path) in message
    assert f"tailtune track {path} --to mlflow --uri {dead}" in message
    assert sum(line.startswith("warning:") for line in lines) == 1
    assert read_run(path).metrics["val"]["macro_f1"] > 0  # the run is finished and readable


def test_the_command_line_says_a_dead_server_once(tmp_path):
    import os
    import subprocess
    import sys

    dead = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run(
        [sys.executable, "-m", "tailtune", "train", "--set", "data.synthetic=tiny",
         "--set", "model.backend=tfidf", "--set", "train.report_to=[mlflow]",
         "--set", f"train.tracking_uri={dead}", "--set", f"runs_dir={tmp_path}"],
        capture_output=True, text=True, env={**env, "COLUMNS": "400"}, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    said = out.stdout + out.stderr
    assert said.count("the run was not reported to mlflow") == 1, said
    assert "TrackingWarning" not in said


def test_without_a_uri_the_run_goes_to_a_local_store_in_the_runs_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    lines: list[str] = []
    path = train(_tfidf_cfg(tmp_path, report_to=["mlflow"]), log=lines.append)
    db = tmp_path / "runs" / "mlflow.db"
    assert db.is_file() and any(f"sqlite:///{db}" in line for line in lines)
    client = mlflow.MlflowClient(f"sqlite:///{db}")
    (found,) = client.search_runs([client.get_experiment_by_name("tiny-tracked").experiment_id])
    assert found.data.tags["tailtune.run"] == path.name
    assert found.data.metrics["test_macro_f1"] == pytest.approx(
        read_run(path).metrics["test"]["macro_f1"]
    )
    assert (tmp_path / "runs" / "mlartifacts").is_dir()

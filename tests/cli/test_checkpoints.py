"""``tailtune evaluate --checkpoint / --promote``: score the checkpoints a neural run kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tailtune.config import config_from_dict  # noqa: E402
from tailtune.errors import DataError  # noqa: E402
from tailtune.runs import read_run  # noqa: E402
from tailtune.workflow import train  # noqa: E402
from tailtune.workflow.checkpoints import evaluate_checkpoints, list_checkpoints, select  # noqa: E402
from tests.training.tiny_models import save_tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def encoder_run(tmp_path_factory):
    """A tiny encoder run that kept three step checkpoints and the best one."""
    root = tmp_path_factory.mktemp("ckpt")
    model = save_tiny_model(root / "tiny-bert", "bert")
    cfg = {
        "name": "ckpt", "seed": 5, "runs_dir": str(root / "runs"),
        "data": {"synthetic": "tiny"}, "split": {"val": 0.2, "test": 0.15},
        "model": {"backend": "encoder", "name": str(model), "max_length": 24},
        "train": {"epochs": 2, "batch_size": 16, "eval_every": 4, "lr": 2e-3, "patience": None,
                  "num_threads": 1, "device": "cpu", "keep_checkpoints": 3, "refit": False,
                  "keep_all_checkpoints": True},
    }  # fmt: skip
    return train(config_from_dict(cfg)), root


def test_lists_and_scores_every_kept_checkpoint(encoder_run):
    path, _ = encoder_run
    names = [c.name for c in list_checkpoints(path)]
    assert names[-2:] == ["best", "final"] and len(names) == 5, names
    assert all(n.startswith("step-") for n in names[:3])

    result = evaluate_checkpoints(path, "all", split="val")
    rows = {r["checkpoint"]: r["metrics"] for r in result["rows"]}
    run = read_run(path)
    # the run's model is the best checkpoint (no refit): same validation figures, computed anew
    assert rows["final"]["macro_f1"] == pytest.approx(run.metrics["val"]["macro_f1"])
    assert rows["best"]["macro_f1"] == pytest.approx(rows["final"]["macro_f1"])
    # each checkpoint's own weights are what gets scored (training moved them between steps)
    from tailtune.backends import load_backend

    backend = load_backend(path / "model")
    texts = run.split_predictions("val")["text"].tolist()
    final = backend.predict_proba(texts)
    first = next(c for c in list_checkpoints(path) if c.name.startswith("step-"))
    backend.load_checkpoint(first.path)
    assert np.abs(backend.predict_proba(texts) - final).max() > 1e-4
    backend.load_checkpoint(next(c for c in list_checkpoints(path) if c.name == "best").path)
    np.testing.assert_allclose(backend.predict_proba(texts), final, atol=1e-6)
    best = max(result["rows"], key=lambda r: r["metrics"]["macro_f1"])
    assert result["highest"] in {r["checkpoint"] for r in result["rows"]}
    assert rows[result["highest"]]["macro_f1"] == best["metrics"]["macro_f1"]
    assert not any(r["in_sample"] for r in result["rows"])  # no refit: nothing in-sample


def test_names_are_forgiving_and_a_missing_one_is_one_line(encoder_run):
    path, _ = encoder_run
    step = next(c for c in list_checkpoints(path) if c.step and c.name != "best")
    for spelling in (f"step-{step.step:06d}", f"checkpoint-{step.step}", str(step.step)):
        assert [c.name for c in select(path, spelling)] == [step.name]
    with pytest.raises(DataError, match=r"no checkpoint 'step-999'; it has: step-"):
        select(path, "step-999")


def _cli(args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tailtune", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_cli_table_and_promote(encoder_run, tmp_path):
    path, _ = encoder_run
    res = _cli(["evaluate", str(path), "--checkpoint", "all", "--output", "ck.json"], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "◀ highest" in res.stdout and "the checkpoint early stopping kept" in res.stdout
    assert "kept by early stopping" in res.stdout and "in-sample" not in res.stdout
    record = json.loads((tmp_path / "ck.json").read_text())
    assert record["evaluated_on"] == "val split" and len(record["rows"]) == 5

    # promote a step checkpoint: the run's model and its figures become that checkpoint's
    target = next(r for r in record["rows"] if r["checkpoint"].startswith("step-"))
    before = read_run(path).metrics["val"]["macro_f1"]
    res = _cli(["evaluate", str(path), "--promote", target["checkpoint"]], tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    run = read_run(path)
    assert run.metrics["promoted"]["checkpoint"] == target["checkpoint"]
    assert run.metrics["promoted"]["before"]["val"]["macro_f1"] == before
    assert run.metrics["val"]["macro_f1"] == pytest.approx(target["metrics"]["macro_f1"])
    assert (path / run.metrics["promoted"]["replaced_model"]).is_dir()
    again = evaluate_checkpoints(path, "final", split="val")["rows"][0]["metrics"]
    assert again["macro_f1"] == pytest.approx(target["metrics"]["macro_f1"])
    preds = run.predictions
    assert set(preds["split"]) == {"val", "test"}

    bad = _cli(["evaluate", str(path), "--checkpoint", "step-999"], tmp_path)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_a_tfidf_run_has_no_checkpoints(tmp_path):
    cfg = {"name": "tf", "runs_dir": str(tmp_path), "data": {"synthetic": "tiny"}}
    path = train(config_from_dict(cfg))
    with pytest.raises(DataError, match="this run kept none"):
        select(path, "best")
    # "final" (the run's model) is always there: --split alone scores it
    res = evaluate_checkpoints(path, "final", split="val")
    assert res["rows"][0]["metrics"]["macro_f1"] == pytest.approx(
        read_run(path).metrics["val"]["macro_f1"]
    )


def test_changed_data_is_refused(tmp_path):
    rows = [{"text": f"text number {i} about {c}", "label": c} for i in range(30) for c in "abc"]
    data = tmp_path / "d.csv"
    import pandas as pd

    pd.DataFrame(rows).to_csv(data, index=False)
    cfg = {"name": "tf", "runs_dir": str(tmp_path / "runs"), "data": {"path": str(data)}}
    path = train(config_from_dict(cfg))
    pd.DataFrame(rows[:60]).to_csv(data, index=False)
    with pytest.raises(DataError, match=r"data\.path .*d\.csv: changed since training"):
        evaluate_checkpoints(path, "final", split="val")
    assert yaml.safe_load((Path(path) / "config.yaml").read_text())["name"] == "tf"

"""A finished run keeps the newest and the best checkpoints, prunes the rest (unless told to keep
all), and says how much disk it holds."""

from __future__ import annotations

import json

import pytest

from tailtune.runs.retention import disk_usage, prune_finished

pytestmark = pytest.mark.unit


def _run(tmp_path, steps, best_step, refit=False):
    run = tmp_path / "run"
    for step in steps:
        folder = run / "checkpoints" / f"step-{step:06d}"
        folder.mkdir(parents=True)
        (folder / "model.pt").write_bytes(b"w" * 100)
        (folder / "trainer.pt").write_bytes(b"o" * 200)
        (folder / "state.json").write_text("{}")  # 2 bytes
    (run / "checkpoints" / "best").mkdir(parents=True)
    (run / "checkpoints" / "best" / "model.pt").write_bytes(b"b" * 100)
    (run / "model").mkdir()
    (run / "model" / "weights").write_bytes(b"m" * 1000)
    info = {"best_step": best_step}
    metrics = (
        {"refit": {"enabled": True, "selection_info": info}, "info": {}}
        if refit
        else {"info": info}
    )
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def _steps(run):
    return sorted(p.name for p in (run / "checkpoints").iterdir())


def test_keeps_the_newest_and_the_best(tmp_path):
    run = _run(tmp_path, [2, 4, 6, 8], best_step=4)
    assert prune_finished(run) == ["step-000002", "step-000006"]
    assert _steps(run) == ["best", "step-000004", "step-000008"]


def test_best_is_the_newest(tmp_path):
    run = _run(tmp_path, [2, 4, 6], best_step=6)
    assert prune_finished(run) == ["step-000002", "step-000004"]
    assert _steps(run) == ["best", "step-000006"]


def test_best_of_the_selection_model_of_a_refit_run(tmp_path):
    run = _run(tmp_path, [2, 4, 6], best_step=2, refit=True)
    prune_finished(run)
    assert _steps(run) == ["best", "step-000002", "step-000006"]


def test_keep_all(tmp_path):
    run = _run(tmp_path, [2, 4, 6, 8], best_step=4)
    assert prune_finished(run, keep_all=True) == []
    assert len(_steps(run)) == 5


def test_disk_usage_counts_every_file_once(tmp_path):
    run = _run(tmp_path, [2, 4], best_step=4)
    metrics = len((run / "metrics.json").read_bytes())
    assert disk_usage(run) == {
        "total": 2 * 302 + 100 + 1000 + metrics,
        "model": 1000,
        "checkpoints": 2 * 302 + 100,
        "other": metrics,
    }
    prune_finished(run)  # best is the newest: step 2 goes
    assert disk_usage(run)["checkpoints"] == 302 + 100


@pytest.mark.integration
def test_a_finished_neural_run(tmp_path, monkeypatch, capsys):
    """A tiny encoder that checkpoints every 2 steps and keeps 4 while training."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tailtune.config import config_from_dict
    from tailtune.runs.index import show_run
    from tailtune.workflow import train
    from tests.training.tiny_models import save_tiny_model

    model = save_tiny_model(tmp_path / "tiny-bert", "bert")
    cfg = {
        "name": "keep", "seed": 5, "runs_dir": str(tmp_path / "runs"),
        "data": {"synthetic": "tiny"}, "split": {"val": 0.2},
        "model": {"backend": "encoder", "name": str(model), "max_length": 16},
        "train": {"max_steps": 10, "batch_size": 16, "eval_every": 2, "lr": 2e-3,
                  "patience": None, "num_threads": 1, "device": "cpu", "keep_checkpoints": 4,
                  "refit": False},
    }  # fmt: skip
    path = train(config_from_dict(cfg), quiet=True)
    best = json.loads((path / "metrics.json").read_text())["info"]["best_step"]
    kept = {p.name for p in (path / "checkpoints").iterdir()}
    assert kept == {"best", "step-000010", f"step-{best:06d}"}
    assert "checkpoints: kept the newest and the best, removed" in (path / "log.txt").read_text()
    shown = show_run(tmp_path / "runs", str(path))
    assert shown["disk"] == disk_usage(path)
    assert shown["disk"]["checkpoints"] > 0 and shown["disk"]["model"] > 0

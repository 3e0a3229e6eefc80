"""The train workflow on tiny synthetic data: a complete run directory, honest numbers, atomic writes."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from tailtune.backends import load_backend
from tailtune.config import config_from_dict
from tailtune.runs import find_runs, read_run
from tailtune.workflow import predict, train

pytestmark = pytest.mark.integration


def _cfg(tmp_path, **objective):
    return config_from_dict(
        {
            "name": "tiny",
            "seed": 3,
            "runs_dir": str(tmp_path / "runs"),
            "data": {"synthetic": "tiny"},
            "split": {"val": 0.25, "test": 0.15},
            "model": {"backend": "tfidf"},
            "objective": objective,
            "eval": {"head_min": 60, "tail_max": 20},
        }
    )


def test_run_directory_is_complete_and_consistent(tmp_path):
    path = train(_cfg(tmp_path))
    run = read_run(path)
    for name in (
        "config.yaml",
        "metrics.json",
        "labels.json",
        "per_class.csv",
        "per_class_test.csv",
        "predictions.csv",
        "probabilities.npz",
        "data.json",
        "env.json",
        "log.txt",
        "model/backend.json",
    ):
        assert (path / name).is_file(), name
    val = run.split_predictions("val")
    # metrics.json agrees with the predictions file, cross-checked with scikit-learn
    present = sorted(set(val["gold"]))
    assert run.metrics["val"]["macro_f1"] == pytest.approx(
        f1_score(val["gold"], val["pred"], labels=present, average="macro")
    )
    assert run.metrics["val"]["accuracy"] == pytest.approx((val["gold"] == val["pred"]).mean())
    classes, proba = run.probabilities("val")
    assert proba.shape == (len(val), len(classes))
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-4)
    assert list(np.asarray(classes)[proba.argmax(1)]) == list(val["pred"])
    top = json.loads(val["top_k"][0])
    assert top[0][0] == val["pred"][0]
    # a simple synthetic task: TF-IDF must beat the majority floor by far
    assert run.metrics["val"]["accuracy"] > 0.6
    assert set(run.labels["tiers"].values()) <= {"head", "mid", "tail"}
    # no temporary folder is left behind
    assert [p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith(".tmp")] == []


def test_saved_model_reproduces_predictions(tmp_path):
    path = train(_cfg(tmp_path))
    run = read_run(path)
    # with a test split the saved model is the refit one (train + val), which scored test
    val = run.split_predictions("test")
    model = load_backend(path / "model")
    _, proba = run.probabilities("test")
    again = model.predict_proba(val["text"].tolist())
    assert np.allclose(again, proba, atol=1e-6)
    out = predict(path, val["text"].tolist()[:3])
    assert list(out["pred"]) == list(val["pred"][:3])


def test_same_seed_same_numbers(tmp_path):
    a = read_run(train(_cfg(tmp_path / "a")))
    b = read_run(train(_cfg(tmp_path / "b")))
    assert a.metrics["val"] == b.metrics["val"]
    pd.testing.assert_frame_equal(a.predictions, b.predictions)


def test_failed_run_leaves_nothing(tmp_path, monkeypatch):
    from tailtune.backends.tfidf import TfidfBackend

    def boom(self, *a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(TfidfBackend, "save", boom)
    with pytest.raises(RuntimeError):
        train(_cfg(tmp_path))
    runs = tmp_path / "runs"
    assert find_runs(runs) == []
    assert [p for p in runs.iterdir() if p.name.startswith(".tmp")] == []


def test_interrupted_run_is_kept_and_resumed(tmp_path, monkeypatch):
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.config import apply_overrides, config_to_dict
    from tailtune.training.guards import TrainingInterrupted

    real_fit = TfidfBackend.fit
    seen_dirs = []

    def interrupted(self, *a, work_dir=None, **k):
        (work_dir / "checkpoint-last").mkdir()
        raise TrainingInterrupted("training interrupted at step 3")

    monkeypatch.setattr(TfidfBackend, "fit", interrupted)
    cfg = _cfg(tmp_path)
    with pytest.raises(TrainingInterrupted):
        train(cfg)
    runs = tmp_path / "runs"
    (kept,) = runs.glob(".interrupted-tiny-*")
    assert (kept / "checkpoint-last").is_dir()
    assert find_runs(runs) == []

    def resumed(self, *a, work_dir=None, **k):
        seen_dirs.append(sorted(p.name for p in work_dir.iterdir()))
        return real_fit(self, *a, work_dir=work_dir, **k)

    monkeypatch.setattr(TfidfBackend, "fit", resumed)
    again = config_from_dict(apply_overrides(config_to_dict(cfg), ["train.resume=true"]))
    path = train(again)
    assert "checkpoint-last" in seen_dirs[0]  # the backend trained in the kept folder
    assert find_runs(runs) == [path]
    assert list(runs.glob(".interrupted-*")) == []


def test_label_name_examples_reach_the_backend_and_the_run_record(tmp_path, monkeypatch):
    from tailtune.backends.tfidf import TfidfBackend

    seen = {}
    fit = TfidfBackend.fit

    def spy(self, texts, labels, **kw):
        if "n" not in seen:  # the selection fit (the refit adds the validation rows)
            seen["n"], seen["labels"] = len(texts), list(labels)
        return fit(self, texts, labels, **kw)

    monkeypatch.setattr(TfidfBackend, "fit", spy)
    run = read_run(train(_cfg(tmp_path, label_name_examples=2)))
    data = json.loads((run.path / "data.json").read_text())
    n_classes = len(run.labels["classes"])
    assert data["label_name_examples"]["added"] == 2 * n_classes
    # the run's own training counts stay those of the data, not of the added names
    assert seen["n"] == sum(run.labels["train_counts"].values()) + 2 * n_classes


def test_runs_dir_argument_holds_the_run_and_its_index(tmp_path, monkeypatch):
    """``train(..., runs_dir=X)`` indexes the run under X, never under ``cfg.runs_dir``."""
    import sqlite3

    monkeypatch.chdir(tmp_path)
    cfg = _cfg(tmp_path)  # cfg.runs_dir = tmp_path/runs
    other = tmp_path / "elsewhere"
    path = train(cfg, runs_dir=other)
    assert path.parent == other
    assert not (tmp_path / "runs").exists()  # no stray folder, no stray index.db
    with sqlite3.connect(other / "index.db") as db:
        rows = db.execute("SELECT run_dir FROM runs").fetchall()
    assert len(rows) == 1 and rows[0][0].endswith(path.name)


def test_single_example_classes_are_named_on_the_console(tmp_path):
    rows = [f"text about {c} number {i},{c}" for c in ("alpha", "beta") for i in range(12)]
    rows += ["the only gamma,gamma", "the only delta,delta"]
    data = tmp_path / "few.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    cfg = config_from_dict(
        {"name": "singles", "seed": 3, "runs_dir": str(tmp_path / "runs"),
         "data": {"path": str(data)}, "split": {"val": 0.25}, "model": {"backend": "majority"}}
    )  # fmt: skip
    lines = []
    run = read_run(train(cfg, log=lines.append))
    assert [line for line in lines if "single example" in line] == [
        "2 classes have a single example: trained on, not validated"
    ]
    assert run.labels["train_counts"]["gamma"] == 1
    assert "gamma" not in set(run.split_predictions("val")["gold"])


def test_name_option_names_the_run_everywhere_it_is_stored(tmp_path):
    import sqlite3

    import yaml

    path = train(_cfg(tmp_path), run_name="other")
    assert path.name.startswith("other-")
    assert yaml.safe_load((path / "config.yaml").read_text())["name"] == "other"
    assert json.loads((path / "metrics.json").read_text())["name"] == "other"
    with sqlite3.connect(tmp_path / "runs" / "index.db") as db:
        assert db.execute("SELECT name FROM runs").fetchall() == [("other",)]


def test_dir_name_names_only_the_folder(tmp_path):
    path = train(_cfg(tmp_path), dir_name="cell-a-s3")
    assert path.name.startswith("cell-a-s3-")
    assert read_run(path).config["name"] == "tiny"


def test_a_folder_held_by_a_live_process_is_not_resumed(tmp_path):
    from tailtune.config import apply_overrides, config_to_dict
    from tailtune.errors import DataError
    from tailtune.runs import RunWriter
    from tailtune.runs.writer import in_progress, unfinished_runs

    cfg = _cfg(tmp_path)
    again = config_from_dict(apply_overrides(config_to_dict(cfg), ["train.resume=true"]))
    with RunWriter(tmp_path / "runs", "tiny") as live:  # this process trains in it
        assert in_progress(live.tmp)
        with pytest.raises(DataError, match="'tiny' .* is still training"):
            train(again)
    # a .tmp folder whose process died (its lock free, its PID gone) is resumable
    dead = tmp_path / "runs" / ".tmp-tiny-20260101-000000-999999999"
    dead.mkdir()
    (dead / ".lock").write_text("999999999\n")
    (u,) = unfinished_runs(tmp_path / "runs", "tiny")
    assert u.path == dead and not u.in_progress
    path = train(again)
    assert path.name == "tiny-20260101-000000"  # the run keeps the stamp it started with
    assert list((tmp_path / "runs").glob(".tmp-*")) == []

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
    val = run.split_predictions("val")
    model = load_backend(path / "model")
    _, proba = run.probabilities("val")
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
        seen["n"], seen["labels"] = len(texts), list(labels)
        return fit(self, texts, labels, **kw)

    monkeypatch.setattr(TfidfBackend, "fit", spy)
    run = read_run(train(_cfg(tmp_path, label_name_examples=2)))
    data = json.loads((run.path / "data.json").read_text())
    n_classes = len(run.labels["classes"])
    assert data["label_name_examples"]["added"] == 2 * n_classes
    # the run's own training counts stay those of the data, not of the added names
    assert seen["n"] == sum(run.labels["train_counts"].values()) + 2 * n_classes

"""The guards through the command line: a tf-idf run on shuffled labels, on identifier-like
labels, with validation texts copied from training, and `diagnose` on a flagged curve."""

import csv
import json
import random
import subprocess
import sys

import pytest

from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.integration


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tailtune", *args], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def _csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def _train(tmp_path, name, *extra):
    runs = tmp_path / "runs"
    res = _run("train", "--set", f"runs_dir={runs}", "--name", name, "-q", *extra)
    assert res.returncode == 0, res.stderr
    (run,) = runs.glob(f"{name}-*")
    return res, json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def task():
    return toy_task(400, 0)


def test_healthy_tfidf_run_raises_nothing(tmp_path, task):
    data = _csv(tmp_path / "ok.csv", zip(*task, strict=True))
    res, metrics = _train(tmp_path, "ok", "--set", f"data.path={data}")
    assert metrics["guards"] == [] and "guard" not in res.stderr + res.stdout


def test_majority_baseline_is_not_judged_by_the_prediction_guards(tmp_path, task):
    # the baseline predicts one class for every row: chance by construction, not a collapse
    texts, labels = task
    skewed = [
        (t, lab if i % 3 else "A") for i, (t, lab) in enumerate(zip(texts, labels, strict=True))
    ]
    data = _csv(tmp_path / "skew.csv", skewed)
    res, metrics = _train(tmp_path, "maj", "--set", f"data.path={data}",
                          "--set", "model.backend=majority")  # fmt: skip
    assert metrics["guards"] == [] and "guard" not in res.stderr + res.stdout


def test_shuffled_labels_on_tfidf_are_labels_unrelated(tmp_path, task):
    texts, labels = task
    labels = labels[:]
    random.Random(1).shuffle(labels)
    data = _csv(tmp_path / "shuf.csv", zip(texts, labels, strict=True))
    res, metrics = _train(tmp_path, "shuf", "--set", f"data.path={data}")
    (finding,) = metrics["guards"]
    assert finding["guard"] == "labels-unrelated"
    assert finding["evidence"]["train_macro_f1"] > 0.9  # tf-idf fits its own training rows
    assert finding["evidence"]["macro_f1_low"] <= finding["evidence"]["chance_macro_f1"]
    assert res.stderr.count("warning: guard labels-unrelated") == 1  # printed even with -q


def test_identifier_like_labels_get_their_own_cause(tmp_path, task):
    rows = [(t, f"ticket-{i // 3}") for i, t in enumerate(task[0])]
    data = _csv(tmp_path / "ids.csv", rows)
    _, metrics = _train(tmp_path, "ids", "--set", f"data.path={data}")
    assert [f["guard"] for f in metrics["guards"]] == ["identifier-labels"]
    assert metrics["guards"][0]["evidence"]["median_rows_per_class"] == 3


def test_validation_texts_copied_from_training_are_leakage(tmp_path, task):
    texts, labels = task
    train = _csv(tmp_path / "train.csv", zip(texts[:300], labels[:300], strict=True))
    val_rows = list(zip(texts[300:], labels[300:], strict=True))
    val_rows[:5] = [(texts[i], labels[i]) for i in range(5)]  # exact copies
    val_rows[5:8] = [(f"  {texts[i].upper()} ", labels[i]) for i in range(5, 8)]  # case, spaces
    val = _csv(tmp_path / "val.csv", val_rows)
    res, metrics = _train(tmp_path, "leak", "--set", f"data.path={train}",
                          "--set", f"data.val_path={val}")  # fmt: skip
    (finding,) = metrics["guards"]
    assert finding["guard"] == "leakage"
    assert finding["evidence"] == {"split": "validation", "in": "training", "exact": 5,
                                   "after_normalising": 3, "share": 0.08}  # fmt: skip
    assert "8 of 100 validation texts also occur in training" in res.stderr


def test_diagnose_puts_the_guard_first_and_gives_no_schedule_advice(tmp_path):
    # a diverged curve: losses far above ln 21 = 3.04 (a learning rate of 1.0 on an encoder)
    log = tmp_path / "log.csv"
    log.write_text("epoch,train_loss,val_loss,macro_f1\n1,55.3,40.1,0.05\n2,60.8,52.0,0.04\n"
                   "3,22.0,20.5,0.06\n")  # fmt: skip
    res = _run("diagnose", str(log), "--classes", "21")
    assert res.returncode == 0, res.stderr
    out = " ".join(res.stdout.split())
    assert out.split()[1] == "divergence", out
    assert "Lower the learning rate" in out
    assert "keep this schedule" not in out.lower() and "train longer" not in out.lower()


def test_a_constant_text_column_on_tfidf_is_not_learning_not_a_collapse(tmp_path, task):
    # every text the same: one answer for every row, on the training rows too (balanced
    # classes, so that answer is no majority class): nothing learned, not a collapse
    data = _csv(tmp_path / "const.csv", [("hello", lab) for lab in task[1]])
    res, metrics = _train(tmp_path, "const", "--set", f"data.path={data}")
    assert [f["guard"] for f in metrics["guards"]] == ["leakage", "not-learning"]
    ev = metrics["guards"][1]["evidence"]
    assert ev["predicted_classes_90pct"] == 1 and ev["train_macro_f1"] <= 0.25
    assert "guard collapsed" not in res.stderr

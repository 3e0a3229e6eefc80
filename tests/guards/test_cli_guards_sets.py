"""The guards on label-set runs (``data.multi_label: sets``) through the command line: a healthy
TF-IDF run and a healthy embedding-head run raise nothing; shuffled sets are labels-unrelated on
both (the prediction guards, the live guards); leakage is counted on set runs; and `diagnose`
on a flagged set run puts the guard first with no schedule advice."""

import csv
import json
import random
import subprocess
import sys

import pytest

from tests.training.conftest import tiny_bert_dir  # noqa: F401
from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.integration

# the toy task's four classes as label sets: login texts carry two labels, refund two
SETS = {"billing": "money", "refund": "money,back", "login": "account,access",
        "delivery": "parcel"}  # fmt: skip
BANNED = ("keep this schedule", "train longer")
SET_ARGS = ("--set", "data.multi_label=sets", "--set", "data.multi_label_separator=,")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tailtune", *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def _csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


def _train(tmp_path, name, *extra):
    runs = tmp_path / "runs"
    res = _run("train", "--set", f"runs_dir={runs}", "--name", name, "-q", *SET_ARGS, *extra)
    assert res.returncode == 0, res.stderr
    (run,) = runs.glob(f"{name}-*")
    return res, run, json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def rows():
    texts, labels = toy_task(400, 0)
    return [(t, SETS[c]) for t, c in zip(texts, labels, strict=True)]


def _shuffled(rows, seed=1):
    sets = [s for _, s in rows]
    random.Random(seed).shuffle(sets)
    return [(t, s) for (t, _), s in zip(rows, sets, strict=True)]


def test_healthy_tfidf_set_run_raises_nothing(tmp_path, rows):
    data = _csv(tmp_path / "ok.csv", rows)
    res, _, metrics = _train(tmp_path, "ok", "--set", f"data.path={data}")
    assert metrics["val"]["macro_f1"] > 0.9
    assert metrics["guards"] == [] and "guard" not in res.stderr + res.stdout


def test_shuffled_sets_on_tfidf_are_labels_unrelated(tmp_path, rows):
    data = _csv(tmp_path / "shuf.csv", _shuffled(rows))
    res, _, metrics = _train(tmp_path, "shuf", "--set", f"data.path={data}")
    (finding,) = metrics["guards"]
    assert finding["guard"] == "labels-unrelated"
    ev = finding["evidence"]
    assert ev["train_macro_f1"] > ev["chance_macro_f1"]  # tf-idf fits its own training sets
    assert ev["macro_f1_low"] <= ev["chance_macro_f1"]
    assert res.stderr.count("warning: guard labels-unrelated") == 1  # printed even with -q


def test_validation_sets_copied_from_training_are_leakage(tmp_path, rows):
    train = _csv(tmp_path / "train.csv", rows[:300])
    val_rows = rows[300:]
    val_rows[:4] = rows[:4]  # exact copies
    val_rows[4:6] = [(f"{rows[i][0].upper()}  ", rows[i][1]) for i in (4, 5)]  # case, spaces
    val = _csv(tmp_path / "val.csv", val_rows)
    res, _, metrics = _train(tmp_path, "leak", "--set", f"data.path={train}",
                             "--set", f"data.val_path={val}")  # fmt: skip
    (finding,) = metrics["guards"]
    assert finding["guard"] == "leakage"
    assert finding["evidence"] == {"split": "validation", "in": "training", "exact": 4,
                                   "after_normalising": 2, "share": 0.06}  # fmt: skip
    assert "6 of 100 validation texts also occur in training" in res.stderr


def _head(tiny_bert_dir, tmp_path, *extra):  # noqa: F811
    return ("--set", "model.backend=embedding_head", "--set", f"model.name={tiny_bert_dir}",
            "--set", f"model.embedding.cache_dir={tmp_path / 'cache'}", "--set", "train.batch_size=16",
            "--set", "train.patience=null", "--set", "train.num_threads=1", *extra)  # fmt: skip


def test_healthy_embedding_head_set_run_raises_nothing(tmp_path, rows, tiny_bert_dir):  # noqa: F811
    data = _csv(tmp_path / "ok.csv", rows)
    res, run, metrics = _train(tmp_path, "head", "--set", f"data.path={data}",
                               *_head(tiny_bert_dir, tmp_path, "--set", "train.lr=0.05",
                                      "--set", "train.epochs=8"))  # fmt: skip
    assert metrics["guards"] == [] and "guard" not in res.stderr + res.stdout
    out = _run("diagnose", str(run))
    assert out.returncode == 0, out.stderr
    verdict = out.stdout.split()[1]
    assert verdict not in ("divergence", "not-learning", "collapsed", "labels-unrelated")


@pytest.mark.slow  # 40 epochs of an MLP head: about 25 s on a busy 2-core machine
def test_diagnose_a_shuffled_set_run_names_the_guard_first(tmp_path, rows, tiny_bert_dir):  # noqa: F811
    data = _csv(tmp_path / "shuf.csv", _shuffled(rows))
    # a head that can memorise 320 rows: an MLP on the frozen embeddings, no dropout
    res, run, metrics = _train(tmp_path, "shufhead", "--set", f"data.path={data}",
                               *_head(tiny_bert_dir, tmp_path, "--set", "train.lr=0.01",
                                      "--set", "train.epochs=40",
                                      "--set", "model.embedding.head=mlp",
                                      "--set", "model.embedding.dropout=0"))  # fmt: skip
    # said live once the evidence is there (an early flat stretch may be called not-learning
    # first); the verdict of the whole curve is memorised labels
    assert metrics["guards"][-1]["guard"] == "labels-unrelated"
    assert res.stderr.count("warning: guard labels-unrelated") == 1
    out = _run("diagnose", str(run))
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert text.split()[1] == "labels-unrelated", text
    assert not any(b in text.lower() for b in BANNED)

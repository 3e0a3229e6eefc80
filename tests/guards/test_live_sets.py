"""The guards on label sets (``data.multi_label: sets``), on real tiny trainings: a healthy run
raises nothing; shuffled sets are memorised, not predicted; a learning rate far too high
diverges; and the diagnosis puts the guard first with no schedule advice."""

import functools
import json
import math
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tailtune.evaluation.diagnose import diagnose_history  # noqa: E402
from tailtune.objectives import ObjectiveSettings  # noqa: E402
from tailtune.training import TrainSettings, fit_classifier, pad_collate  # noqa: E402
from tailtune.training.objective import make_set_loss, set_metrics_fn  # noqa: E402
from tests.training.tiny_models import bag_model, toy_items  # noqa: E402

pytestmark = pytest.mark.integration

BANNED = ("keep this schedule", "train longer")
# three labels over the toy task's four classes: class 1 carries two of them
SETS = {0: [1, 0, 0], 1: [1, 1, 0], 2: [0, 1, 0], 3: [0, 0, 1]}
NAMES = ["a", "b", "c"]


def _sets(items):
    return [{**it, "labels": np.array(SETS[it["labels"]], dtype=np.float32)} for it in items]


@pytest.fixture(scope="module")
def data():
    train, tok = toy_items(160, 0)
    val, _ = toy_items(80, 1)
    return _sets(train), _sets(val), len(tok)


def _shuffled(items, seed=0):
    labels = [it["labels"] for it in items]
    random.Random(seed).shuffle(labels)
    return [{**it, "labels": y} for it, y in zip(items, labels, strict=True)]


def _fit(data, tmp_path, **kw):
    train, val, vocab = data
    objective = ObjectiveSettings()
    y = np.stack([it["labels"] for it in train])
    base = dict(lr=0.05, epochs=6, batch_size=16, progress=False, patience=None, seed=3,
                num_threads=1)  # fmt: skip
    result = fit_classifier(
        bag_model(vocab, 3, seed=0), train, collate=functools.partial(pad_collate, pad_id=0),
        loss_fn=make_set_loss(y, objective), num_classes=3,
        settings=TrainSettings(**{**base, **kw}), eval_items=val,
        metrics_fn=set_metrics_fn(objective, NAMES), work_dir=tmp_path,
    )  # fmt: skip
    history = [json.loads(x) for x in (tmp_path / "history.jsonl").read_text().splitlines()]
    return result, diagnose_history(history, n_classes=3, label_sets=True)


def _check(result, diagnosis, capsys, guard):
    found = result.info["guards"]
    assert [f["guard"] for f in found] == [guard]
    assert found[0]["step"] > result.history[0]["step"]  # never on the first evaluation
    printed = [x for x in capsys.readouterr().out.splitlines() if x.startswith("warning: guard")]
    assert printed == [f"warning: {found[0]['line']}"]  # one line, once
    assert diagnosis.verdict == guard
    assert not any(b in diagnosis.next_step.lower() for b in BANNED)
    return found[0]["evidence"]


def test_the_set_references_are_measured_in_the_runs_own_loss(data, tmp_path):
    result, _ = _fit(data, tmp_path, epochs=2)
    last = result.history[-1]
    # mean BCE over the 3 labels: logit 0 costs ln 2; the label rates' logits cost the mean
    # Bernoulli entropy of the rates the batches carry (0.5, 0.5, 0.25 in the toy task)
    assert last["uniform_loss"] == pytest.approx(math.log(2), abs=1e-4)
    h = [-(p * math.log(p) + (1 - p) * math.log(1 - p)) for p in (0.5, 0.5, 0.25)]
    assert last["prior_loss"] == pytest.approx(sum(h) / 3, abs=0.01)
    # always "yes" on every label: 2p / (1 + p) per label on the validation sets
    assert last["chance_macro_f1"] == pytest.approx(np.mean([2 / 3, 2 / 3, 0.4]), abs=1e-3)


def test_healthy_set_run_raises_nothing(data, tmp_path, capsys):
    result, diagnosis = _fit(data, tmp_path)
    assert result.info["guards"] == []
    assert "guard" not in capsys.readouterr().out
    assert max(h["macro_f1"] for h in result.history) > 0.85
    assert diagnosis.verdict not in ("divergence", "not-learning", "collapsed", "labels-unrelated")


def test_shuffled_sets_are_memorised_not_learned(data, tmp_path, capsys):
    train, val, vocab = data
    result, diagnosis = _fit((_shuffled(train), val, vocab), tmp_path, lr=0.2, epochs=30)
    ev = _check(result, diagnosis, capsys, "labels-unrelated")
    # 80 validation rows: the gap is within its noise, the training loss 10% below the prior
    assert ev["train_loss"] < 0.9 * ev["prior_loss"] or ev["gap"] > ev["gap_limit"]
    assert ev["val_loss"] > ev["val_prior_loss"]  # worse than the prior on unseen rows
    assert ev["macro_f1_low"] <= ev["chance_macro_f1"]


def test_a_learning_rate_far_too_high_diverges_on_sets(data, tmp_path, capsys):
    result, diagnosis = _fit(data, tmp_path, lr=200.0)
    ev = _check(result, diagnosis, capsys, "divergence")
    assert ev["train_loss"] > ev["limit"] == pytest.approx(2 * math.log(2), abs=1e-3)


def test_a_tiny_learning_rate_does_not_learn_on_sets(data, tmp_path, capsys):
    result, diagnosis = _fit(data, tmp_path, lr=1e-7, not_learning_steps=10**9)
    ev = _check(result, diagnosis, capsys, "not-learning")
    assert ev["train_loss"] >= 0.98 * ev["prior_loss"]

"""Failure modes on real tiny trainings: each guard fires with its evidence, once, never on the
first evaluation, and a healthy run raises nothing (bag-of-embeddings model, seconds each)."""

import functools
import json
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")

from tailtune.evaluation.diagnose import diagnose_history  # noqa: E402
from tailtune.objectives.losses import build_loss  # noqa: E402
from tailtune.training import TrainSettings, fit_classifier, pad_collate  # noqa: E402
from tests.training.tiny_models import bag_model, toy_items  # noqa: E402

pytestmark = pytest.mark.integration

BANNED = ("keep this schedule", "train longer")


@pytest.fixture(scope="module")
def data():
    train, tok = toy_items(160, 0)
    val, _ = toy_items(80, 1)
    return train, val, len(tok)


def _shuffled(items, seed=0):
    labels = [it["labels"] for it in items]
    random.Random(seed).shuffle(labels)
    return [{**it, "labels": y} for it, y in zip(items, labels, strict=True)]


def _fit(data, tmp_path, loss=None, **kw):
    train, val, vocab = data
    base = dict(lr=0.05, epochs=4, batch_size=16, progress=False, patience=None, seed=3,
                num_threads=1)  # fmt: skip
    result = fit_classifier(
        bag_model(vocab, 4, seed=0), train, collate=functools.partial(pad_collate, pad_id=0),
        loss_fn=loss or build_loss("ce"), num_classes=4, settings=TrainSettings(**{**base, **kw}),
        eval_items=val, work_dir=tmp_path,
    )  # fmt: skip
    history = [json.loads(x) for x in (tmp_path / "history.jsonl").read_text().splitlines()]
    return result, diagnose_history(history, n_classes=4)


def _check(result, diagnosis, capsys, guard):
    found = result.info["guards"]
    assert [f["guard"] for f in found] == [guard]
    assert found[0]["step"] > result.history[0]["step"]  # never on the first evaluation
    printed = [x for x in capsys.readouterr().out.splitlines() if x.startswith("warning: guard")]
    assert printed == [f"warning: {found[0]['line']}"]  # one line, once
    assert diagnosis.verdict == guard
    assert not any(b in diagnosis.next_step.lower() for b in BANNED)
    return found[0]["evidence"]


def test_healthy_run_raises_nothing(data, tmp_path, capsys):
    result, diagnosis = _fit(data, tmp_path)
    assert result.info["guards"] == []
    assert "guard" not in capsys.readouterr().out
    assert diagnosis.verdict not in ("divergence", "not-learning", "collapsed", "labels-unrelated")


def test_shuffled_labels_are_memorised_not_learned(data, tmp_path, capsys):
    train, val, vocab = data
    result, diagnosis = _fit((_shuffled(train), val, vocab), tmp_path, lr=0.2, epochs=30)
    ev = _check(result, diagnosis, capsys, "labels-unrelated")
    assert ev["train_loss"] < 0.9 * ev["prior_loss"]
    assert ev["macro_f1_low"] <= ev["chance_macro_f1"] == 0.25


def test_a_huge_learning_rate_diverges(data, tmp_path, capsys):
    result, diagnosis = _fit(data, tmp_path, lr=50.0)
    ev = _check(result, diagnosis, capsys, "divergence")
    assert ev["train_loss"] > ev["limit"] == pytest.approx(2 * 1.3863, abs=1e-3)


def test_a_tiny_learning_rate_does_not_learn(data, tmp_path, capsys):
    result, diagnosis = _fit(data, tmp_path, lr=1e-7, not_learning_steps=10**9)
    ev = _check(result, diagnosis, capsys, "not-learning")
    assert ev["train_loss"] >= 0.98 * ev["prior_loss"]


def test_an_overweighted_class_collapses_the_predictor(data, tmp_path, capsys):
    weight = torch.tensor([200.0, 1.0, 1.0, 1.0])

    def heavy(logits, targets):
        return torch.nn.functional.cross_entropy(logits, targets, weight=weight)

    result, diagnosis = _fit(data, tmp_path, loss=heavy)
    ev = _check(result, diagnosis, capsys, "collapsed")
    assert ev == {"predicted_classes_90pct": 1, "gold_classes_90pct": 4,
                  "top_class_predicted": 1.0, "top_class_prior": 0.25}  # fmt: skip

"""Failure cases built apart from the guards' own examples, on real tiny trainings: half the
labels noisy (above chance: not unrelated), a text that is the same for every row, labels
that name rows, a high learning rate whose overshoot is gone after the first epoch, and one
epoch of a healthy run; each gets its own cause or none."""

import functools
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
FLAGS = ("divergence", "not-learning", "collapsed", "identifier-labels", "labels-unrelated")


@pytest.fixture(scope="module")
def data():
    train, tok = toy_items(160, 0)
    val, _ = toy_items(80, 1)
    return train, val, len(tok)


def _fit(train, val, vocab, k=4, **kw):
    base = dict(lr=0.05, epochs=4, batch_size=16, progress=False, patience=None, seed=3,
                num_threads=1)  # fmt: skip
    result = fit_classifier(
        bag_model(vocab, k, seed=0), train, collate=functools.partial(pad_collate, pad_id=0),
        loss_fn=build_loss("ce"), num_classes=k, settings=TrainSettings(**{**base, **kw}),
        eval_items=val,
    )  # fmt: skip
    counts = {}
    for it in train:
        counts[str(it["labels"])] = counts.get(str(it["labels"]), 0) + 1
    diagnosis = diagnose_history(result.history, n_classes=k, train_counts=counts,
                                 recorded=result.info["guards"])  # fmt: skip
    return [f["guard"] for f in result.info["guards"]], diagnosis, result


def _noisy(items, share, seed=0):
    rng = random.Random(seed)
    return [{**it, "labels": rng.randrange(4) if rng.random() < share else it["labels"]}
            for it in items]  # fmt: skip


def test_half_the_labels_noisy_is_above_chance_and_not_unrelated(data):
    train, val, vocab = data
    # a long run memorises the noisy half, but validation (clean) stays above chance
    found, diagnosis, result = _fit(_noisy(train, 0.5), val, vocab, lr=0.2, epochs=30)
    assert found == [] and diagnosis.verdict not in FLAGS
    last = result.history[-1]
    assert last["macro_f1_low"] > last["chance_macro_f1"] == pytest.approx(0.25, abs=0.01)


def test_a_text_that_is_the_same_for_every_row_does_not_learn(data):
    train, val, vocab = data
    same = [{**it, "input_ids": [2, 10, 3]} for it in train]
    found, diagnosis, _ = _fit(same, [{**it, "input_ids": [2, 10, 3]} for it in val], vocab,
                               epochs=8)  # fmt: skip
    assert found == ["not-learning"] and diagnosis.verdict == "not-learning"
    assert not any(b in diagnosis.next_step.lower() for b in BANNED)


def test_labels_that_name_rows_are_identifier_labels_live_and_in_diagnose(data):
    train, val, vocab = data
    ids = [{**it, "labels": i // 2} for i, it in enumerate(train)]  # 80 "tickets", 2 rows each
    val_ids = [{**it, "labels": i // 2} for i, it in enumerate(val)]
    found, diagnosis, _ = _fit(ids, val_ids, vocab, k=80, lr=0.2, epochs=10)
    assert found == ["identifier-labels"]
    assert diagnosis.verdict == "identifier-labels"  # not overruled by the curve's reading
    assert diagnosis.evidence["guard_median_rows_per_class"] == 2


def test_an_overshoot_gone_after_the_first_epoch_is_not_divergence(data):
    train, val, vocab = data
    found, diagnosis, result = _fit(train, val, vocab, lr=1.0)
    first, second = result.history[0]["train_loss"], result.history[1]["train_loss"]
    assert first > 2 * result.history[0]["uniform_loss"] > second  # 3.19, then 0.55 < 2 ln 4
    assert found == [] and diagnosis.verdict not in FLAGS


def test_one_epoch_above_chance_is_not_called_not_learning(data):
    # a single evaluation: the epoch's mean loss from random weights sits near ln K, but
    # validation is already above chance
    train, val, vocab = data
    found, diagnosis, result = _fit(train, val, vocab, epochs=1)
    assert result.history[-1]["macro_f1_low"] > result.history[-1]["chance_macro_f1"]
    assert found == [] and diagnosis.verdict == "undertrained"

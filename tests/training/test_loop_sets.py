"""The training loop on label sets: 0/1 vectors as labels, a multi-label loss, early stopping on
the multi-label macro F1 of the saved decision rule, class-aware sampling over sets."""

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tailtune.objectives import ObjectiveSettings  # noqa: E402
from tailtune.training import TrainSettings, fit_classifier, pad_collate  # noqa: E402
from tailtune.training.objective import make_set_loss, set_metrics_fn  # noqa: E402
from tests.training.tiny_models import bag_model, toy_items  # noqa: E402

pytestmark = pytest.mark.integration

COLLATE = functools.partial(pad_collate, pad_id=0)
# three labels over the toy task's four classes: class 1 carries two of them
SETS = {0: [1, 0, 0], 1: [1, 1, 0], 2: [0, 1, 0], 3: [0, 0, 1]}


def _sets(items):
    return [{**it, "labels": np.array(SETS[it["labels"]], dtype=np.float32)} for it in items]


def test_loop_learns_label_sets():
    train, tok = toy_items(160, 0)
    val, _ = toy_items(80, 1)
    train, val = _sets(train), _sets(val)
    y = np.stack([it["labels"] for it in train])
    objective = ObjectiveSettings(set_loss="asl")
    result = fit_classifier(
        bag_model(len(tok), 3),
        train,
        collate=COLLATE,
        loss_fn=make_set_loss(y, objective),
        num_classes=3,
        settings=TrainSettings(
            lr=0.05,
            epochs=6,
            batch_size=16,
            progress=False,
            patience=None,
            seed=3,
            num_threads=1,
            sampler="class_balanced",
        ),  # fmt: skip
        eval_items=val,
        metrics_fn=set_metrics_fn(objective, ["a", "b", "c"]),
    )
    last = result.history[-1]
    assert {"macro_f1", "micro_f1", "samples_f1", "hamming_loss"} <= set(last)
    # predicting every label scores macro F1 0.58 here (2p / (1 + p) with p = .5, .5, .25)
    assert max(h["macro_f1"] for h in result.history) > 0.85


def test_set_labels_of_the_wrong_width_fail_before_training():
    train, tok = toy_items(20, 0)
    with pytest.raises(ValueError, match="training labels: expected a 0/1 vector of 4 labels"):
        fit_classifier(bag_model(len(tok), 4), _sets(train), collate=COLLATE,
                       loss_fn=make_set_loss(np.ones((2, 3)), ObjectiveSettings()), num_classes=4,
                       settings=TrainSettings(progress=False, patience=None))  # fmt: skip

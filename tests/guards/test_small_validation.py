"""A healthy model checked on a few dozen validation rows: its macro F1 interval reaches the
chance figure, and a flexible model fits its training rows whatever they hold, so the
prediction guards called real labels "unrelated" (healthy TF-IDF on 150-row CFPB and 300-row
GoEmotions subsamples: benchmarks/RESULTS.md). The training rows, each predicted by a model
refitted without it (5-fold cross-fitting), now settle it; shuffled labels stay flagged."""

import random
from collections import Counter

import numpy as np
import pytest

from tailtune.guards import check_predictions
from tailtune.guards.final import _verdict, cross_fitted
from tests.training.tiny_models import CLASSES, toy_task

AT_CHANCE = {"chance_macro_f1": 0.25, "macro_f1_low": 0.2, "macro_f1": 0.4, "pred_cover": 4,
             "gold_cover": 4, "pred_top_share": 0.3, "pred_top_prior": 0.25}  # fmt: skip
MEMORISED = {**AT_CHANCE, "macro_f1_low": 0.95, "macro_f1": 1.0}


def test_held_out_rows_above_chance_clear_a_small_validation_set():
    above = {**AT_CHANCE, "macro_f1_low": 0.31, "macro_f1": 0.38}
    assert _verdict(AT_CHANCE, lambda: MEMORISED, "rows", None, lambda: above) == []
    # held-out rows at chance too: memorised, not predicted, with the held-out figure
    found = _verdict(AT_CHANCE, lambda: MEMORISED, "rows", None, lambda: AT_CHANCE)
    assert [f.guard for f in found] == ["labels-unrelated"]
    assert found[0].evidence["held_out_macro_f1"] == 0.4


def test_held_out_rows_are_not_asked_when_validation_is_below_chance():
    below = {**AT_CHANCE, "macro_f1": 0.2}
    asked = []
    found = _verdict(below, lambda: MEMORISED, "rows", None, lambda: asked.append(1))
    assert [f.guard for f in found] == ["labels-unrelated"] and asked == []


def test_cross_fitting_predicts_every_row_from_a_model_that_never_saw_it():
    seen = []

    class Remember:  # predicts a row's own label only if it trained on it
        def fit(self, texts, labels):
            self.known = dict(zip(texts, labels, strict=True))
            seen.append(set(texts))
            return self

        def predict(self, texts):
            return [self.known.get(t, "unseen") for t in texts]

    texts = [f"t{i}" for i in range(40)]
    labels = ["a", "b"] * 20
    gold, pred = cross_fitted(Remember, texts, labels)
    assert len(gold) == 40 and set(pred) == {"unseen"}
    assert len(seen) == 5 and all(len(s) == 32 for s in seen)  # stratified: 4 + 4 out per fold


def _tfidf(noise: float, n_val: int, seed: int, shuffle: bool = False):
    from tailtune.backends.params import clone
    from tailtune.backends.tfidf import TfidfBackend

    texts, labels = toy_task(200, seed)
    rng = random.Random(seed)
    labels = [rng.choice(CLASSES) if rng.random() < noise else y for y in labels]
    train_x, train_y, val_x, val_y = texts[n_val:], labels[n_val:], texts[:n_val], labels[:n_val]
    if shuffle:
        random.Random(0).shuffle(train_y)
    model = TfidfBackend().fit(train_x, train_y)
    pred = model.predict(val_x)

    def train_fit():
        return np.asarray(train_y, dtype=str), model.predict(train_x)

    def held_out():
        return cross_fitted(lambda: clone(model), train_x, train_y)

    counts = dict(Counter(train_y))
    before = [f.guard for f in check_predictions(val_y, pred, counts, train_fit)]
    after = [f.guard for f in check_predictions(val_y, pred, counts, train_fit, held_out)]
    return before, after


@pytest.mark.integration
def test_a_weak_real_model_on_twelve_validation_rows_is_not_labels_unrelated():
    # half the labels noisy: a real but weak model, checked on 12 validation rows
    assert _tfidf(0.5, 12, 0) == (["labels-unrelated"], [])


@pytest.mark.integration
def test_shuffled_labels_on_twelve_validation_rows_stay_labels_unrelated():
    assert _tfidf(0.5, 12, 0, shuffle=True) == (["labels-unrelated"], ["labels-unrelated"])


@pytest.mark.integration
def test_the_cli_reads_held_out_rows_before_calling_a_small_run_labels_unrelated(tmp_path):
    import csv
    import json
    import subprocess
    import sys

    # 120 rows, 70% of the labels noisy: the 12 validation rows the run carves give macro F1
    # 0.44 with an interval reaching chance (0.25), which read as labels-unrelated before
    texts, labels = toy_task(120, 5)
    rng = random.Random(5)
    labels = [rng.choice(CLASSES) if rng.random() < 0.7 else y for y in labels]
    data = tmp_path / "noisy.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts, labels, strict=True)])
    runs = tmp_path / "runs"
    res = subprocess.run([sys.executable, "-m", "tailtune", "train", "--set", f"runs_dir={runs}",
                          "--name", "noisy", "-q", "--set", f"data.path={data}"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    (run,) = runs.glob("noisy-*")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["guards"] == [] and "guard" not in res.stderr + res.stdout

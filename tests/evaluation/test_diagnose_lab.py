"""Four training regimes re-enacted with real training: four configs, four curves, four verdicts.

The training loop (``tailtune.training.fit_classifier``) trains a bag-of-embeddings model on the
synthetic ``small`` preset (30 classes, 5,400 train / 600 val). As in a controlled experiment,
each case changes one thing: ``one_epoch`` trains 1 epoch; ``small_data`` 15 epochs on 150
examples (10 batches per epoch vs 338); ``vanilla`` 3 epochs; ``sqrt_weighted`` 3 epochs with
sqrt-inverse class weights. A fifth run has the softmax-before-cross-entropy bug. Measured (2
shared CPU cores, ~45 s in all): one_epoch undertrained; small_data data-starved (F1 0.198, val
loss +10% over its epoch-6 minimum); vanilla well-trained (acc 0.668, F1 0.245, 14 zero-F1);
sqrt_weighted acc 0.645, F1 0.334, 11 zero-F1; the bug flat at 2.789 (ln 30 = 3.401, floor
2.457).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("tokenizers")

from tailtune.data import split_frame, synthesize  # noqa: E402
from tailtune.evaluation.diagnose import compare_runs, diagnose_history  # noqa: E402
from tailtune.objectives.losses import build_loss  # noqa: E402
from tailtune.objectives.weights import class_weights  # noqa: E402
from tailtune.training import TrainSettings, fit_classifier, pad_collate  # noqa: E402
from tests.training.tiny_models import bag_model  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def regimes():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    sp = split_frame(synthesize("small", seed=0), val=0.1, seed=0)
    classes = sorted(set(sp.train["label"]) | set(sp.val["label"]))
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        sp.train["text"].tolist(), trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]"])
    )

    def items(frame):
        enc = tok.encode_batch(frame["text"].tolist())
        return [
            {"input_ids": e.ids[:64], "labels": classes.index(y)}
            for e, y in zip(enc, frame["label"], strict=True)
        ]

    train, val = items(sp.train), items(sp.val)
    k = len(classes)
    counts = np.bincount([it["labels"] for it in train], minlength=k)

    def run(items_, epochs, loss):
        settings = TrainSettings(lr=0.05, epochs=epochs, batch_size=16, progress=False, patience=None,
                                 seed=3, num_threads=1, not_learning_steps=10**9)  # fmt: skip
        res = fit_classifier(bag_model(tok.get_vocab_size(), k, dim=32), items_,
                             collate=functools.partial(pad_collate, pad_id=0), loss_fn=loss,
                             num_classes=k, settings=settings, eval_items=val)  # fmt: skip
        return {"history": res.history, "train_size": len(items_)}

    subset = [train[i] for i in np.random.default_rng(0).choice(len(train), 150, replace=False)]

    def softmax_then_ce(
        logits, targets
    ):  # the bug: probabilities fed to a loss that expects logits
        return torch.nn.functional.cross_entropy(torch.softmax(logits, dim=-1), targets)

    ce = build_loss("ce")
    return {
        "k": k,
        "one_epoch": run(train, 1, ce),
        "small_data": run(subset, 15, ce),
        "vanilla": run(train, 3, ce),
        "sqrt_weighted": run(
            train, 3, build_loss("ce", class_weights=class_weights(counts, "sqrt_inverse"))
        ),
        "bug": run(train, 3, softmax_then_ce),
    }


def diagnose(regimes, name):
    r = regimes[name]
    return diagnose_history(r["history"], n_classes=regimes["k"], train_size=r["train_size"])


def test_each_regime_gets_its_verdict(regimes):
    assert diagnose(regimes, "one_epoch").verdict == "undertrained"
    small_data = diagnose(regimes, "small_data")
    assert small_data.verdict == "data-starved"
    assert small_data.evidence["batches_per_epoch"] == 10 and small_data.evidence["n_evals"] == 15
    assert diagnose(regimes, "vanilla").verdict == "well-trained"
    assert diagnose(regimes, "bug").verdict == "not-learning"


def test_sqrt_weighting_shows_the_reweighting_signature(regimes):
    last = {
        n: regimes[n]["history"][-1]
        for n in ("one_epoch", "small_data", "vanilla", "sqrt_weighted")
    }
    objective = {
        n: {"objective": {"class_weights": "sqrt_inverse" if n == "sqrt_weighted" else "none"}}
        for n in last
    }
    flags = compare_runs([(n, last[n], objective[n]) for n in last])
    pairs = {(f["a"], f["b"]): f for f in flags}
    assert ("vanilla", "sqrt_weighted") in pairs
    f = pairs[("vanilla", "sqrt_weighted")]
    assert f["d_accuracy"] < 0 < f["d_macro_f1"] and f["d_zero_f1"] < 0
    assert f["objective_change"] == ["objective.class_weights: none → sqrt_inverse"]
    # The vanilla baseline beats the data-starved and the re-weighted runs on accuracy.
    assert last["vanilla"]["accuracy"] > max(
        last["small_data"]["accuracy"], last["sqrt_weighted"]["accuracy"]
    )
    # small_data trained longest yet does not beat vanilla on macro F1.
    assert last["small_data"]["macro_f1"] < last["vanilla"]["macro_f1"]

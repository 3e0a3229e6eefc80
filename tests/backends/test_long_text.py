"""Long texts: window math against hand-computed cases, and every mode on tiny models."""

import json
import random

import numpy as np
import pytest

from tailtune.backends._long_text import (
    TextWindow,
    chunk_spans,
    head_tail,
    pool_rows,
)
from tailtune.config import config_from_dict
from tailtune.errors import ConfigError

# -- window math ---------------------------------------------------------------------------------


def test_chunk_spans_hand_computed():
    # stride 4 - 1 = 3: starts 0, 3, then the last window ends at the text's end (6..10)
    assert chunk_spans(10, 4, 1) == [(0, 4), (3, 7), (6, 10)]
    # 11 tokens: starts 0, 3, 6 and a last window 7..11 (every window full, none past the end)
    assert chunk_spans(11, 4, 1) == [(0, 4), (3, 7), (6, 10), (7, 11)]
    # no overlap: plain consecutive windows
    assert chunk_spans(8, 4, 0) == [(0, 4), (4, 8)]
    # a text that fits is one window, an empty text one empty window
    assert chunk_spans(3, 4, 1) == [(0, 3)]
    assert chunk_spans(0, 4, 1) == [(0, 0)]


def test_chunk_spans_cap_keeps_evenly_spaced_windows_with_both_ends():
    every = chunk_spans(20, 4, 0)  # starts 0, 4, 8, 12, 16
    assert [s for s, _ in every] == [0, 4, 8, 12, 16]
    # 3 of 5 windows: indices round(linspace(0, 4, 3)) = 0, 2, 4
    assert chunk_spans(20, 4, 0, max_chunks=3) == [(0, 4), (8, 12), (16, 20)]
    assert chunk_spans(20, 4, 0, max_chunks=1) == [(0, 4)]
    assert chunk_spans(20, 4, 0, max_chunks=9) == every


def test_chunk_spans_refuses_a_window_that_does_not_move():
    with pytest.raises(ConfigError, match="overlap"):
        chunk_spans(10, 4, 4)


def test_head_tail_hand_computed():
    ids = list(range(10))
    # 6 tokens, a quarter from the start: round(1.5) = 2 head, 4 tail
    assert head_tail(ids, 6, 0.25) == [0, 1, 6, 7, 8, 9]
    assert head_tail(ids, 6, 1.0) == [0, 1, 2, 3, 4, 5]
    assert head_tail(ids, 6, 0.0) == [4, 5, 6, 7, 8, 9]
    assert head_tail(ids[:5], 6, 0.25) == [0, 1, 2, 3, 4]


def test_pool_rows_mean_and_max_per_text():
    values = np.array([[1.0, 4.0], [3.0, 0.0], [5.0, 5.0], [-1.0, 2.0]])
    owner = np.array([0, 0, 1, 2])
    np.testing.assert_allclose(
        pool_rows(values, owner, 3, "chunk_mean"), [[2.0, 2.0], [5.0, 5.0], [-1.0, 2.0]]
    )
    np.testing.assert_allclose(
        pool_rows(values, owner, 3, "chunk_max"), [[3.0, 4.0], [5.0, 5.0], [-1.0, 2.0]]
    )


def test_settings_are_validated_with_the_field_named():
    cases = {
        "long_text: everything": "model.long_text",
        "chunk_overlap: 64": "model.chunk_overlap",  # max_length 128: half of it is too much
        "max_chunks: -1": "model.max_chunks",
        "head_share: 1.5": "model.head_share",
    }
    for line, field in cases.items():
        key, value = line.split(": ")
        raw = {"model": {"backend": "embedding_head", "name": "m", "long_text": "chunk_mean"}}
        raw["model"][key] = value if key == "long_text" else float(value)
        with pytest.raises(ConfigError, match=field):
            _load(raw)
    from tailtune.backends.build import check_settings

    tfidf = _load({"model": {"backend": "tfidf", "long_text": "head_tail"}})
    with pytest.raises(ConfigError, match="model.long_text=head_tail: the tfidf backend does not"):
        check_settings(tfidf)
    lora = _load({"model": {"backend": "decoder_lora", "name": "m", "max_chunks": 2}})
    with pytest.raises(ConfigError, match="it applies to embedding_head, encoder, prototype"):
        check_settings(lora)
    assert _load({"model": {"backend": "encoder", "name": "m"}}).model.long_text == "truncate"


def _load(raw):
    return config_from_dict(raw)


def test_the_builder_hands_the_window_to_the_backend():
    from tailtune.backends import build_backend

    cfg = _load(
        {
            "model": {
                "backend": "embedding_head",
                "name": "m",
                "long_text": "chunk_max",
                "max_chunks": 3,
            }
        }
    )
    backend = build_backend(cfg)
    assert backend.window == TextWindow(long_text="chunk_max", max_chunks=3)


def test_the_recipe_ensemble_reads_long_texts_through_its_embedding_member():
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path

    cfg = load_config(recipe_path("cpu-longtail"), ["model.long_text=chunk_mean"])
    tfidf, head = build_backend(cfg).members
    assert head.name == "embedding_head" and head.window.long_text == "chunk_mean"
    assert head.max_length == 256 and head.window.max_chunks == 8
    assert not hasattr(tfidf, "window")  # TF-IDF reads whole texts


# -- the modes on tiny models --------------------------------------------------------------------

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.training.conftest import tiny_bert_dir  # noqa: E402,F401
from tests.training.tiny_models import KEYWORDS, NOISE  # noqa: E402

MODES = ["truncate", "head_tail", "chunk_mean", "chunk_max"]


def tail_task(n: int, seed: int):
    """Texts of 10-14 noise words and then 3 keywords of their class: past a 10-token window
    (8 words and [CLS], [SEP]), so truncation cannot see them."""
    rng = random.Random(seed)
    texts, labels = [], []
    classes = sorted(KEYWORDS)
    for i in range(n):
        label = classes[i % len(classes)]
        words = [rng.choice(NOISE) for _ in range(rng.randint(10, 14))]
        words += [rng.choice(KEYWORDS[label]) for _ in range(3)]
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def test_windows_carry_special_tokens_and_the_first_is_truncation(tiny_bert_dir):  # noqa: F811
    from transformers import AutoTokenizer

    from tailtune.backends._long_text import encode_windows

    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    text = " ".join(NOISE[:10])  # 10 words = 10 tokens (word-level tokenizer)
    content = tok(text, add_special_tokens=False)["input_ids"]
    cls, sep = tok.cls_token_id, tok.sep_token_id
    trunc, owner = encode_windows(tok, [text], 6, None)
    assert trunc == [[cls, *content[:4], sep]] and list(owner) == [0]
    # 6-token windows hold 4 text tokens; overlap 1: spans (0,4), (3,7), (6,10)
    chunks, owner = encode_windows(tok, [text, "x"], 6, TextWindow("chunk_mean", 1, 0))
    assert chunks[0] == trunc[0]
    assert chunks[1] == [cls, *content[3:7], sep]
    assert chunks[2] == [cls, *content[6:10], sep]
    assert list(owner) == [0, 0, 0, 1]
    ht, _ = encode_windows(tok, [text], 6, TextWindow("head_tail", head_share=0.25))
    assert ht == [[cls, content[0], *content[7:], sep]]


@pytest.fixture(scope="module")
def tail_data():
    return tail_task(160, 0), tail_task(60, 1)


HEAD = dict(
    max_length=10,
    lr=0.05,
    batch_size=16,
    epochs=15,
    progress=False,
    seed=1,
    num_threads=1,
    patience=None,
)


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:the model is not learning")  # truncate: nothing to learn
def test_embedding_head_modes_train_predict_and_round_trip(tiny_bert_dir, tail_data, tmp_path):  # noqa: F811
    from tailtune.backends import load_backend
    from tailtune.backends.embedding_head import EmbeddingHeadBackend

    (tx, ty), (vx, vy) = tail_data
    best = {}
    for mode in MODES:
        b = EmbeddingHeadBackend.from_flat(
            model_name=tiny_bert_dir,
            cache_dir=str(tmp_path / "cache"),
            long_text=mode,
            chunk_overlap=0,
            **HEAD,
        ).fit(tx, ty, eval_set=(vx, vy))
        best[mode] = max(r["macro_f1"] for r in b.history_)
        b.save(tmp_path / mode)
        saved = json.loads((tmp_path / mode / "backend.json").read_text())
        assert saved["params"]["window"]["long_text"] == mode
        loaded = load_backend(tmp_path / mode)
        assert loaded.window.long_text == mode
        np.testing.assert_array_equal(loaded.predict_proba(vx), b.predict_proba(vx))
    # each mode's embeddings are cached under their own key (4 modes x train, validation)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 8
    # the keywords sit past the window: only the modes that read the end can find them
    # (pinned at seed 1 on the random tiny encoder: truncate 0.26, head_tail 0.93, chunk_mean
    # 0.76, chunk_max 0.66 -- pooling with keyword-free windows dilutes a frozen embedding)
    assert best["truncate"] < 0.4, best
    assert best["head_tail"] > 0.8, best
    for mode in ("chunk_mean", "chunk_max"):
        assert best[mode] > best["truncate"] + 0.25, best


ENC = dict(
    max_length=10,
    lr=1e-2,
    batch_size=8,
    epochs=6,
    progress=False,
    seed=5,
    num_threads=1,
    patience=None,
)


@pytest.mark.integration
def test_prototype_modes_read_the_end_of_long_texts(tiny_bert_dir, tail_data, tmp_path):  # noqa: F811
    from tailtune.backends.prototype import PrototypeBackend
    from tailtune.evaluation.metrics import compute_metrics

    (tx, ty), (vx, vy) = tail_data
    scores = {}
    for mode in MODES:
        b = PrototypeBackend.from_flat(
            model_name=tiny_bert_dir,
            max_length=10,
            cache_dir=str(tmp_path / "cache"),
            long_text=mode,
            chunk_overlap=0,
        ).fit(tx, ty)
        assert b.window.long_text == mode
        scores[mode] = compute_metrics(list(vy), list(b.predict(vx)))["macro_f1"]
    # class centroids of the frozen tiny encoder's embeddings: truncation cannot see the
    # keywords, the other modes can
    for mode in ("head_tail", "chunk_mean", "chunk_max"):
        assert scores[mode] > scores["truncate"] + 0.2, scores
    print(scores)


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:the model is not learning")
def test_encoder_modes_train_predict_and_round_trip(tiny_bert_dir, tail_data, tmp_path):  # noqa: F811
    from tailtune.backends import load_backend
    from tailtune.backends.encoder import EncoderBackend
    from tailtune.evaluation.metrics import compute_metrics

    (tx, ty), (vx, vy) = tail_data
    scores = {}
    for mode in MODES:
        b = EncoderBackend.from_flat(
            model_name=tiny_bert_dir, long_text=mode, chunk_overlap=0, **ENC
        )
        b.fit(tx, ty, eval_set=(vx, vy))
        scores[mode] = compute_metrics(list(vy), list(b.predict(vx)))["macro_f1"]
        b.save(tmp_path / mode)
        loaded = load_backend(tmp_path / mode)
        assert loaded.window.long_text == mode
        np.testing.assert_allclose(loaded.predict_proba(vx), b.predict_proba(vx), atol=1e-5)
    # fine-tuned on the head and tail or on every window, the encoder sees the keywords;
    # truncated, it cannot (pinned at seed 5: truncate 0.10, head_tail 0.51, chunk_mean 0.76,
    # chunk_max 0.67)
    assert scores["truncate"] < 0.4, scores
    for mode in ("head_tail", "chunk_mean", "chunk_max"):
        assert scores[mode] > scores["truncate"] + 0.3, scores


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:the model is not learning")
def test_a_run_keeps_its_mode_for_predict_and_export_refuses_one_window_formats(tmp_path):
    from tailtune.backends import load_backend
    from tailtune.errors import TailtuneError
    from tailtune.export.api import export_run
    from tailtune.workflow.apply import predict
    from tests.export.conftest import FAST_TRAIN, make_run
    from tests.training.tiny_models import save_tiny_model

    base = save_tiny_model(tmp_path / "bert", "bert")
    model = {
        "backend": "encoder",
        "name": base,
        "max_length": 10,
        "long_text": "chunk_max",
        "chunk_overlap": 2,
    }
    run = make_run(tmp_path, "long", model, {}, FAST_TRAIN)
    backend = load_backend(run / "model")
    assert backend.window.long_text == "chunk_max" and backend.window.chunk_overlap == 2
    texts, _ = tail_task(6, 3)
    got = predict(run, texts, top_k=1)
    assert list(got["pred"]) == list(backend.predict(texts))
    for fmt in ("onnx", "hf"):
        with pytest.raises(TailtuneError, match=f"--format {fmt}: .*long_text=chunk_max") as err:
            export_run(run, fmt, tmp_path / fmt)
        assert "\n" not in str(err.value)
        assert not (tmp_path / fmt).exists()

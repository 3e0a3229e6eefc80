"""Tiny finished runs to export: TF-IDF, a tiny BERT encoder, a tiny Qwen2 decoder with LoRA.

Every run goes through ``tailtune.workflow.train`` on a CSV of the keyword toy task, so the
export reads a real run directory (config, predictions.csv, model/) as users have them.
"""

from __future__ import annotations

import csv

import pytest

from tests.training.tiny_models import save_tiny_model, toy_task

FAST_TRAIN = {
    "epochs": 3,
    "batch_size": 16,
    "eval_batch_size": 32,
    "lr": 3e-3,
    "patience": None,
    "device": "cpu",
    "num_threads": 1,
    "not_learning_steps": 10_000,
}


# imbalanced, so that post-hoc adjustment (-tau * log prior) differs between classes
COUNTS = {"billing": 70, "delivery": 40, "login": 30, "refund": 20}


def write_toy_csv(path, seed: int = 0) -> str:
    texts, labels = toy_task(seed=seed, counts=COUNTS)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(zip(texts, labels, strict=True))
    return str(path)


def make_run(tmp_path, name: str, model: dict, objective: dict | None = None, train=None):
    """Train one run on the toy CSV and return its directory."""
    from tailtune.config import config_from_dict
    from tailtune.workflow import train as train_run

    data = write_toy_csv(tmp_path / "toy.csv")
    cfg = config_from_dict(
        {
            "name": name,
            "seed": 1,
            "runs_dir": str(tmp_path / "runs"),
            "data": {"path": data},
            "split": {"val": 0.25},
            "model": model,
            "objective": objective or {},
            "train": train or {},
            "eval": {"head_min": 30, "tail_max": 10},
        }
    )
    return train_run(cfg)


def qwen2_dir(path) -> str:
    """A tiny random Qwen2 causal LM with a byte-level BPE tokenizer that has no pad token."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tests.training.tiny_models import KEYWORDS, NOISE

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    words = NOISE + [w for ws in KEYWORDS.values() for w in ws] + ["unknown", "words"]
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([" ".join(words)] * 3, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>")
    cfg = transformers.Qwen2Config(
        vocab_size=len(fast) + 8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    transformers.AutoModelForCausalLM.from_config(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tfidf_run(tmp_path_factory):
    """LinearSVC TF-IDF run with word and char n-grams and τ = 0.7 (temperature fitted)."""
    tmp = tmp_path_factory.mktemp("tfidf")
    model = {"backend": "tfidf", "tfidf": {"char_ngrams": [2, 4]}}
    return make_run(tmp, "tfidf", model, {"posthoc_tau": 0.7})


@pytest.fixture(scope="session")
def encoder_run(tmp_path_factory):
    """Tiny BERT fine-tuned for a few steps, with post-hoc τ = 0.5 to fold into the bias."""
    pytest.importorskip("transformers")
    tmp = tmp_path_factory.mktemp("encoder")
    base = save_tiny_model(tmp / "bert", "bert")
    model = {"backend": "encoder", "name": base, "max_length": 32}
    return make_run(tmp, "enc", model, {"posthoc_tau": 0.5}, FAST_TRAIN)


@pytest.fixture(scope="session")
def decoder_run(tmp_path_factory):
    """Tiny Qwen2 with LoRA and a trained ``score`` head (no post-hoc adjustment)."""
    pytest.importorskip("peft")
    tmp = tmp_path_factory.mktemp("decoder")
    base = qwen2_dir(tmp / "qwen2")
    model = {
        "backend": "decoder_lora",
        "name": base,
        "max_length": 32,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
    }
    return make_run(tmp, "dec", model, {}, FAST_TRAIN)


@pytest.fixture(scope="session")
def embedding_run(tmp_path_factory):
    """Tiny BERT embeddings (mean pooling, normalized) with a linear head and τ = 0.3."""
    pytest.importorskip("transformers")
    tmp = tmp_path_factory.mktemp("embedding")
    base = save_tiny_model(tmp / "bert", "bert")
    model = {
        "backend": "embedding_head",
        "name": base,
        "max_length": 32,
        "embedding": {"cache_dir": str(tmp / "cache")},
    }
    return make_run(tmp, "emb", model, {"posthoc_tau": 0.3}, {**FAST_TRAIN, "lr": 1e-2})


@pytest.fixture(scope="session")
def tuned_body_run(tmp_path_factory):
    """As ``embedding_run``, with the body tuned contrastively (10 steps) before the head."""
    pytest.importorskip("transformers")
    tmp = tmp_path_factory.mktemp("tuned-body")
    base = save_tiny_model(tmp / "bert", "bert")
    embedding = {"cache_dir": str(tmp / "cache"), "body_steps": 10, "body_batch_size": 8,
                 "body_lr": 1e-3}  # fmt: skip
    model = {"backend": "embedding_head", "name": base, "max_length": 32, "embedding": embedding}
    return make_run(tmp, "tuned", model, {"posthoc_tau": 0.3}, {**FAST_TRAIN, "lr": 1e-2})


@pytest.fixture(scope="session")
def ensemble_run(tmp_path_factory):
    """Two TF-IDF members blended (the composite no single exported model represents)."""
    tmp = tmp_path_factory.mktemp("ensemble")
    members = [{"backend": "tfidf"}, {"backend": "tfidf", "classifier": "logreg", "C": 2.0}]
    return make_run(tmp, "ens", {"backend": "ensemble", "ensemble": {"members": members}})

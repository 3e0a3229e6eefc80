"""No false alarm: a healthy run of every backend the guards watch raises no guard finding.

TF-IDF, the embedding head and the majority baseline have their own healthy-run tests
(test_cli_guards.py, test_cli_guards_sets.py); this module trains the others on the toy task
(keywords per class among shared noise: learnable, and nothing leaks between the splits) through
``tailtune.workflow.train``, as ``tailtune train`` does, and reads metrics.json's guards."""

from __future__ import annotations

import csv

import pytest

from tailtune.config import config_from_dict
from tailtune.runs import read_run
from tailtune.workflow import train
from tests.training.conftest import tiny_bert_dir  # noqa: F401
from tests.training.tiny_models import toy_task

pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.integration

GROUP = {"billing": "money", "refund": "money", "login": "account", "delivery": "shipping"}
# a random tiny BERT learns the toy task in a few dozen steps at this rate (tests/backends)
TINY = {"max_length": 32}
LOOP = {"epochs": 6, "batch_size": 8, "lr": 1e-2, "num_threads": 1,
        "refit": False}  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("healthy") / "toy.csv"
    texts, labels = toy_task(320, 0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "group", "label"])
        w.writerows((t, GROUP[c], c) for t, c in zip(texts, labels, strict=True))
    return path


def _run(tmp_path, data, model: dict, train_settings: dict | None = None, **data_settings):
    cfg = config_from_dict(
        {
            "name": f"healthy-{model['backend']}",
            "seed": 3,
            "runs_dir": str(tmp_path / "runs"),
            "data": {"path": str(data), "text_columns": ["text"], "label_columns": ["label"],
                     **data_settings},
            "split": {"val": 0.25},
            "model": model,
            "train": train_settings or {"refit": False},
        }
    )  # fmt: skip
    return read_run(train(cfg)).metrics


def _healthy(metrics, floor: float = 0.6):
    assert metrics["guards"] == [], metrics["guards"]
    assert metrics["val"]["macro_f1"] > floor  # it did learn: the run is a healthy one


def test_encoder(tmp_path, data, tiny_bert_dir):  # noqa: F811
    _healthy(_run(tmp_path, data, {"backend": "encoder", "name": tiny_bert_dir, **TINY}, LOOP))


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    """A tiny random Qwen2 with its word-level tokenizer, and a 3-class task in its words."""
    import torch
    import transformers

    from tests.backends import test_decoder_lora as td

    path = tmp_path_factory.mktemp("qwen2")
    tok = td.tokenizer()
    torch.manual_seed(0)
    transformers.AutoModelForCausalLM.from_config(td.config("qwen2", len(tok) + 8)).save_pretrained(
        path
    )
    tok.save_pretrained(path)
    texts, labels = td.toy(240, 0)
    data = path / "toy.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        # its short texts repeat now and then: a repeat across the splits is real leakage
        w.writerows(dict(zip(texts, labels, strict=True)).items())
    return str(path), data


def test_decoder_lora(tmp_path, decoder):
    name, data = decoder
    model = {"backend": "decoder_lora", "name": name, "max_length": 16,
             "lora": {"r": 4, "alpha": 8, "dropout": 0.0}}  # fmt: skip
    _healthy(_run(tmp_path, data, model, {**LOOP, "lr": 5e-3, "device": "cpu"}))


def test_prototype(tmp_path, data, tiny_bert_dir):  # noqa: F811
    # random embeddings: above chance (0.25), not as good as a trained model
    _healthy(_run(tmp_path, data, {"backend": "prototype", "name": tiny_bert_dir, **TINY}), 0.4)


def test_cascade(tmp_path, data):
    model = {"backend": "cascade", "cascade": {"head_top_k": 2, "specialist": {"backend": "tfidf"}}}
    _healthy(_run(tmp_path, data, model))


def test_hierarchical(tmp_path, data):
    model = {"backend": "tfidf", "hierarchy": {"strategy": "top_down"}}
    metrics = _run(tmp_path, data, model, None, label_columns=["group", "label"], hierarchy=True)
    _healthy(metrics)

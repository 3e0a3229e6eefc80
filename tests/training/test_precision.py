"""Precision and gradient checkpointing without CUDA: what a run records is what really ran."""

from __future__ import annotations

import functools
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tailtune.errors import ConfigError  # noqa: E402
from tailtune.objectives.losses import build_loss  # noqa: E402
from tailtune.training import TrainSettings, fit_classifier, pad_collate  # noqa: E402
from tests.training.tiny_models import CLASSES, bag_model, toy_items  # noqa: E402

pytestmark = pytest.mark.integration
COLLATE = functools.partial(pad_collate, pad_id=0)


@pytest.fixture(scope="module")
def data():
    train, tok = toy_items(64, 0)
    val, _ = toy_items(32, 1)
    return train, val, tok


def fit(data, model=None, loss=None, **kw):
    train, val, tok = data
    base = dict(lr=0.05, max_steps=4, batch_size=16, progress=False, patience=None, seed=3,
                num_threads=1, device="cpu")  # fmt: skip
    model = model if model is not None else bag_model(len(tok), 4)
    result = fit_classifier(
        model,
        train,
        collate=COLLATE,
        loss_fn=loss or build_loss("ce"),
        num_classes=4,
        settings=TrainSettings(**{**base, **kw}),
        eval_items=val,
    )
    return model, result


def dtype_recorder(model):
    """Dtypes of the classifier layer's training outputs (Accelerate hands fp32 logits back
    to the loss whatever the autocast, so the layer itself is watched)."""
    seen = set()

    def hook(module, args, output):
        if module.training:
            seen.add(output.dtype)

    model.classifier.register_forward_hook(hook)
    return seen


def test_fp16_on_the_cpu_stops_with_one_line_suggesting_bf16_or_fp32(data):
    with pytest.raises(ConfigError) as err:
        fit(data, precision="fp16")
    message = str(err.value)
    assert "\n" not in message and message.startswith("train.precision=fp16 needs CUDA")
    assert "train.precision=bf16" in message and "fp32" in message


def test_bf16_on_the_cpu_really_autocasts_says_so_and_records_it(data, capsys):
    model = bag_model(len(data[2]), 4)
    seen = dtype_recorder(model)
    _, result = fit(data, model=model, precision="bf16")
    assert seen == {torch.bfloat16}  # the training forward passes ran in bf16
    assert next(model.parameters()).dtype == torch.float32  # the weights did not
    assert result.info["precision"] == "bf16" and result.info["precision_used"] == "bf16"
    lines = [x for x in capsys.readouterr().out.splitlines() if "precision" in x]
    assert lines == [
        "train.precision=bf16 on the CPU: forward passes run under torch.autocast('cpu', "
        "dtype=torch.bfloat16); weights, gradients and optimizer state stay fp32"
    ]


def test_no_mixed_precision_is_recorded_as_fp32(data, capsys):
    model = bag_model(len(data[2]), 4)
    seen = dtype_recorder(model)
    _, result = fit(data, model=model, precision="no")
    assert seen == {torch.float32} and result.info["precision_used"] == "fp32"
    assert "precision" not in capsys.readouterr().out


def tiny_hf_classifier(vocab_size: int):
    from transformers import AutoModelForSequenceClassification

    from tests.training.tiny_models import tiny_config

    config = tiny_config("bert", vocab_size)
    config.num_labels = len(CLASSES)
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config)


def test_gradient_checkpointing_recomputes_the_layers_of_a_transformers_model(data):
    """Checkpointed layers run forward twice per training step (again in the backward pass)."""
    tok = data[2]
    calls = {}
    for flag in (False, True):
        model = tiny_hf_classifier(len(tok))
        count = {"n": 0}

        def hook(module, args, output, count=count):
            if module.training:
                count["n"] += 1

        model.bert.encoder.layer[0].attention.register_forward_hook(hook)
        _, result = fit(data, model=model, lr=1e-3, gradient_checkpointing=flag, max_steps=3)
        assert result.info["gradient_checkpointing"] is flag
        assert model.is_activation_checkpointing is flag
        calls[flag] = count["n"]
    assert calls[False] == 3 and calls[True] == 6


def test_gradient_checkpointing_on_a_plain_module_says_it_does_not_apply(data, capsys):
    _, result = fit(data, gradient_checkpointing=True)
    assert result.info["gradient_checkpointing"] is False
    out = capsys.readouterr().out
    assert "train.gradient_checkpointing: does not apply to Bag" in out


def test_the_run_records_the_precision_used(tiny_bert_dir, tmp_path, monkeypatch):
    from tailtune.config import config_from_dict
    from tailtune.runs import layout
    from tailtune.workflow import train

    monkeypatch.setenv("TAILTUNE_CACHE", str(tmp_path / "cache"))
    cfg = config_from_dict(
        {
            "data": {"synthetic": "tiny"},
            "model": {"backend": "embedding_head", "name": tiny_bert_dir, "max_length": 32},
            "train": {"max_steps": 3, "lr": 1e-3, "precision": "bf16", "device": "cpu",
                      "gradient_checkpointing": True, "num_threads": 1, "patience": None},
        }
    )  # fmt: skip
    path = train(cfg, runs_dir=tmp_path / "runs")
    info = json.loads((path / layout.METRICS).read_text())["info"]
    assert info["precision_used"] == "bf16" and info["gradient_checkpointing"] is False

"""A plain transformers classifier from an encoder or decoder-LoRA run (hf and onnx use it).

Encoder runs hold an ``AutoModelForSequenceClassification`` as trained. Decoder-LoRA runs hold a
PEFT model whose trained ``score`` head lives in ``modules_to_save``: ``merge_and_unload`` folds
the LoRA matrices into the base weights *and* puts the trained head copy in place of the base
model's untrained one. That the head survived is not assumed but checked: the merged model's
logits must equal the adapter model's.
"""

from __future__ import annotations

import numpy as np

from tailtune._extras import require
from tailtune.errors import TailtuneError
from tailtune.export._adjust import fold_linear

__all__ = ["plain_classifier", "head_linear", "fold_adjustment"]

HEAD_NAMES = ("classifier", "score")


def plain_classifier(source):
    """``(model, tokenizer)``: a transformers classifier in eval mode on CPU, and its tokenizer."""
    backend = source.backend
    model, tok = backend.model_, backend.tokenizer_
    if _is_peft(model):  # LoRA adapters fold into the base weights
        model = _merge(model, tok, source)
    model.eval()
    model.config.id2label = {i: c for i, c in enumerate(source.classes)}
    model.config.label2id = {c: i for i, c in enumerate(source.classes)}
    model.config.num_labels = len(source.classes)
    model.config.problem_type = "single_label_classification"
    model.config.pad_token_id = tok.pad_token_id
    # Decoders pool the last real token; the transformers pipeline passes no position ids, so
    # right padding is the side on which batched pipeline calls give tailtune's logits.
    tok.padding_side = "right"
    if source.max_length:
        tok.model_max_length = int(source.max_length)
    return model, tok


def _is_peft(model) -> bool:
    return hasattr(model, "merge_and_unload") and hasattr(model, "peft_config")


def _merge(model, tok, source):
    """Merge LoRA into the base, keep the trained head, and check the logits did not move."""
    torch = require("torch")
    probe = source.val_texts[:8] or ["a short probe text"]
    enc = tok(probe, truncation=True, max_length=source.max_length or 128, padding=True)
    batch = {k: torch.as_tensor(v) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    with torch.inference_mode():
        before = model(**batch).logits.float().numpy()
    merged = model.merge_and_unload()
    with torch.inference_mode():
        after = merged(**batch).logits.float().numpy()
    if not np.allclose(before, after, atol=1e-4):
        raise TailtuneError(
            "decoder LoRA merge changed the logits (max difference "
            f"{float(np.abs(before - after).max()):.2g}); the trained head was not carried over"
        )
    return merged


def head_linear(model, k: int):
    """The last ``nn.Linear`` with ``k`` outputs under the classification head."""
    torch = require("torch")
    found = None
    for name, module in model.named_modules():
        top = name.split(".")[0]
        if top in HEAD_NAMES and isinstance(module, torch.nn.Linear) and module.out_features == k:
            found = module
    if found is None:
        raise TailtuneError(
            f"{type(model).__name__}: no classification layer with {k} outputs "
            "('classifier' or 'score') to export"
        )
    return found


def fold_adjustment(model, k: int, prior, tau: float, temperature: float, fmt: str) -> bool:
    """Fold ``softmax(z / T - τ log π)`` into the head's weights and bias; False if nothing to do.

    A head without a bias (the ``score`` layer of Llama, Qwen2, GPT-2, ...) cannot carry the
    per-class constant in a standard transformers folder: refused with one line.
    """
    torch = require("torch")
    if not tau and temperature == 1.0:
        return False
    linear = head_linear(model, k)
    if tau and linear.bias is None:
        raise TailtuneError(
            f"{fmt}: posthoc_tau={tau:g} needs a bias on the classification head, and "
            f"{type(model).__name__} has none; export with --format onnx (it carries the "
            "adjustment) or use a run with posthoc_tau=0"
        )
    if prior is None:
        raise TailtuneError(f"{fmt}: the run saved no class priors to fold posthoc_tau with")
    bias = None if linear.bias is None else linear.bias.detach().double().numpy()
    w, b = fold_linear(linear.weight.detach().double().numpy(), bias, prior, tau, temperature)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(w, dtype=linear.weight.dtype))
        if linear.bias is not None:
            linear.bias.copy_(torch.as_tensor(b, dtype=linear.bias.dtype))
    return True

"""Batched inference: logits for a list of items, longest first, in the original order."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import numpy as np

from tailtune._extras import require
from tailtune.training.batching import take_batch

__all__ = ["model_logits", "predict_logits"]


def model_logits(output):
    """Logits from a model output (``.logits`` of transformers outputs, or the tensor itself)."""
    return output.logits if hasattr(output, "logits") else output


def predict_logits(
    model,
    items: Sequence[dict],
    *,
    collate: Callable,
    batch_size: int,
    device,
    lengths: Sequence[int] | None = None,
    autocast: Callable = contextlib.nullcontext,
):
    """Float32 CPU logits (n, K) in the order of ``items``.

    Items are sorted by length so each batch pads little (no gradient, inference mode); the
    model's train/eval mode is restored afterwards.
    """
    torch = require("torch")
    order = (
        np.argsort(-np.asarray(lengths), kind="stable")
        if lengths is not None
        else np.arange(len(items))
    )
    was_training = model.training
    model.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(items), batch_size):
            batch = take_batch(items, order[start : start + batch_size], collate)
            batch.pop("labels", None)
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast():
                chunks.append(model_logits(model(**batch)).float().cpu())
    model.train(was_training)
    if not chunks:
        return torch.zeros((0, 0))
    logits = torch.cat(chunks)
    out = torch.empty_like(logits)
    out[torch.as_tensor(order)] = logits
    return out

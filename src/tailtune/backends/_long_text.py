"""Texts longer than the model's window: truncate, head + tail, or overlapping chunks pooled.

``model.long_text`` says how a transformers backend reads a text of more than ``max_length``
tokens (complaint narratives run to thousands):

- ``truncate``: the first ``max_length`` tokens (the tokenizer's own truncation).
- ``head_tail``: the text's first and last tokens, a ``head_share`` of the window from the start
  and the rest from the end (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?":
  the first 128 and last 382 of 512 tokens beat either end alone on long reviews).
- ``chunk_mean`` / ``chunk_max``: windows of ``max_length`` tokens, neighbours sharing
  ``chunk_overlap`` tokens, each read on its own; their outputs (embeddings, or logits) are
  averaged or max-pooled per text (segment pooling, Pappagari et al. 2019, "Hierarchical
  Transformers for Long Document Classification"). ``max_chunks`` caps the windows per text,
  spread evenly from the first to the last so both ends are read.

Every window carries the model's special tokens, so a text that fits, and the first window of
one that does not, are exactly what ``truncate`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from tailtune._settings import check_choices
from tailtune.errors import ConfigError

__all__ = [
    "CHUNK_MODES",
    "TextWindow",
    "chunk_spans",
    "encode_windows",
    "head_tail",
    "pool_rows",
    "pooled_metrics",
    "window_items",
]

CHUNK_MODES = ("chunk_mean", "chunk_max")


@dataclass
class TextWindow:
    """How a text longer than ``max_length`` tokens is read (config ``model.long_text`` and the
    three fields after it)."""

    long_text: Literal["truncate", "head_tail", "chunk_mean", "chunk_max"] = "truncate"
    """truncate (the first tokens), head_tail (first and last tokens), or chunk_mean/chunk_max
    (overlapping windows, outputs averaged or max-pooled)."""
    chunk_overlap: int = 32
    """Chunk modes: tokens shared by neighbouring windows (at least 0, below half the window)."""
    max_chunks: int = 8
    """Chunk modes: windows per text at most, spread evenly over the text; 0 = all windows."""
    head_share: float = 0.25
    """head_tail: share of the window taken from the text's start (the rest from its end)."""

    def validate(self, where: str = "model", max_length: int | None = None) -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.chunk_overlap < 0:
            raise ConfigError(f"{where}.chunk_overlap: got {self.chunk_overlap}, expected >= 0")
        if max_length is not None and self.chunked and 2 * self.chunk_overlap >= max_length:
            raise ConfigError(
                f"{where}.chunk_overlap: got {self.chunk_overlap}, expected less than half of "
                f"max_length ({max_length}) so that each window moves on"
            )
        if self.max_chunks < 0:
            raise ConfigError(
                f"{where}.max_chunks: got {self.max_chunks}, expected >= 0 (0 = all windows)"
            )
        if not 0 <= self.head_share <= 1:
            raise ConfigError(f"{where}.head_share: got {self.head_share}, expected in [0, 1]")

    @property
    def chunked(self) -> bool:
        """True for the modes that read several windows per text."""
        return self.long_text in CHUNK_MODES


def chunk_spans(n: int, size: int, overlap: int, max_chunks: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` token spans of windows of ``size`` over ``n`` tokens.

    Windows start every ``size - overlap`` tokens; the last one ends at ``n`` (so every window
    is full and none reads past the end). With ``max_chunks`` > 0 and more windows than that,
    ``max_chunks`` of them are kept at evenly spaced indices, the first and last included.
    Example: n=10, size=4, overlap=1 -> (0, 4), (3, 7), (6, 10).
    """
    if size < 1 or not 0 <= overlap < size:
        raise ConfigError(
            f"chunk window of {size} tokens with overlap {overlap}: need 0 <= overlap < size"
        )
    if n <= size:
        return [(0, n)]
    starts = list(range(0, n - size, size - overlap)) + [n - size]
    if max_chunks and len(starts) > max_chunks:
        keep = np.unique(np.round(np.linspace(0, len(starts) - 1, max_chunks)).astype(int))
        starts = [starts[i] for i in keep]
    return [(s, s + size) for s in starts]


def head_tail(ids: list[int], size: int, head_share: float) -> list[int]:
    """The first ``round(size * head_share)`` and the last ``size - that`` of ``ids`` (all of
    them when they fit): Sun et al. 2019's head + tail truncation."""
    if len(ids) <= size:
        return list(ids)
    head = int(round(size * head_share))
    tail = size - head
    return list(ids[:head]) + (list(ids[len(ids) - tail :]) if tail else [])


def encode_windows(
    tokenizer, texts: list[str], max_length: int, window: TextWindow | None
) -> tuple[list[list[int]], np.ndarray]:
    """Token-id sequences (special tokens added, unpadded) and the text each one belongs to.

    One sequence per text, except in the chunk modes (one per window). ``truncate`` is the
    tokenizer's own truncation, as before these modes existed.
    """
    mode = window.long_text if window is not None else "truncate"
    if mode == "truncate":
        enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
        return [list(ids) for ids in enc["input_ids"]], np.arange(len(texts))
    prefix, suffix = _special_frame(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ConfigError(f"model.max_length: {max_length} leaves no room for text in a window")
    content = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
    seqs: list[list[int]] = []
    owner: list[int] = []
    for i, ids in enumerate(content["input_ids"]):
        if mode == "head_tail":
            parts = [head_tail(ids, budget, window.head_share)]
        else:
            spans = chunk_spans(len(ids), budget, window.chunk_overlap, window.max_chunks)
            parts = [ids[s:e] for s, e in spans]
        for part in parts:
            seqs.append([*prefix, *part, *suffix])
            owner.append(i)
    return seqs, np.asarray(owner, dtype=int)


def window_items(tokenizer, texts: list[str], y, max_length: int, window: TextWindow | None):
    """Loop items (``input_ids``, ``labels``) for fine-tuning, and the text of each item.

    One per text, except in the chunk modes: there every window is an item carrying its text's
    label (windows that do not show the class are labelled with it all the same; the cost is
    up to ``max_chunks`` times the truncated one), so that the model is trained on what it
    will pool at prediction.
    """
    seqs, owner = encode_windows(tokenizer, texts, max_length, window)
    y = np.asarray(y)
    if np.ndim(y) == 2:  # label sets: each window carries its text's 0/1 vector
        return [{"input_ids": s, "labels": y[o]} for s, o in zip(seqs, owner, strict=True)], owner
    return [{"input_ids": s, "labels": int(y[o])} for s, o in zip(seqs, owner, strict=True)], owner


def pooled_metrics(owner: np.ndarray, mode: str):
    """A ``metrics_fn`` for the training loop: window logits pooled per text, scored per text
    (so early stopping follows the figure prediction will give)."""
    from tailtune.training.loop import classification_metrics

    n = int(owner.max()) + 1 if len(owner) else 0

    def metrics(logits: np.ndarray, labels: np.ndarray) -> dict:
        text_labels = np.zeros(n, dtype=np.int64)
        text_labels[owner] = labels
        return classification_metrics(pool_rows(logits, owner, n, mode), text_labels)

    return metrics


def pool_rows(values: np.ndarray, owner: np.ndarray, n: int, how: str) -> np.ndarray:
    """Rows of ``values`` pooled per text: ``(n, D)``, the mean (``chunk_mean``) or the
    elementwise max (``chunk_max``) of the rows whose ``owner`` is that text."""
    values = np.asarray(values)
    if len(owner) == n and np.array_equal(owner, np.arange(n)):
        return values
    out = np.zeros((n, values.shape[1]), dtype=values.dtype)
    if how == "chunk_max":
        out[:] = -np.inf
        np.maximum.at(out, owner, values)
        return out
    np.add.at(out, owner, values)
    counts = np.bincount(owner, minlength=n).astype(values.dtype)
    return out / np.maximum(counts, 1)[:, None]


def _special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a text ([CLS] ... [SEP],
    <s> ... </s>, none), read off a probe text: tokenizers differ in how they expose them."""
    probe = "a"
    bare = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise ConfigError("model.long_text: the tokenizer's special tokens could not be told apart")

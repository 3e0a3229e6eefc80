"""Batches for one epoch: seeded order or class-aware draws, length grouping, rank shares.

Dynamic padding pads each batch to its own longest sequence; grouping examples of similar
length (within shuffled "megabatches" of 50 batches, as transformers' LengthGroupedSampler does)
keeps that padding small. On short-text data most batches are far shorter than max_length,
which is where the speed-up over pad-to-128 comes from.

Items are a list of dicts collated per batch (token ids of different lengths), or, when every
item is a fixed-size row (an embedding and its label), a :class:`TensorItems` whose batch is one
``index_select`` per field: on a head over cached embeddings, building each batch from 64 Python
dicts cost more than the head's forward and backward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tailtune._extras import require
from tailtune.objectives.samplers import sample_epoch

__all__ = [
    "TensorItems",
    "encode_texts",
    "epoch_batches",
    "item_column",
    "pad_collate",
    "take_batch",
]

MEGABATCH = 50


def encode_texts(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length``, unpadded (padding happens per batch)."""
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return [list(ids) for ids in enc["input_ids"]]


def epoch_batches(
    lengths: Sequence[int] | np.ndarray,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
    group_by_length: bool = True,
    sample_probs: np.ndarray | None = None,
    epoch_size: int | None = None,
) -> list[list[int]]:
    """This process's batches (lists of example indices) for ``epoch``.

    The order depends only on ``(seed, epoch)``: a permutation, or ``epoch_size`` draws with
    replacement from ``sample_probs`` (class-aware sampling). Process ``rank`` keeps every
    ``world_size``-th example; every process gets the same number of batches (at most
    ``world_size - 1`` examples per epoch are left out) so that data-parallel steps match.
    """
    n = len(lengths)
    if sample_probs is not None:
        total = epoch_size or n
        order = sample_epoch(
            sample_probs, total, seed=seed, epoch=epoch, rank=rank, world_size=world_size
        )
    else:
        total = n
        order = np.random.default_rng([int(seed), int(epoch)]).permutation(n)[rank::world_size]
    order = order[: total // world_size] if world_size > 1 else order
    rng = np.random.default_rng([int(seed), int(epoch), 1])
    if not group_by_length:
        return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    lens = np.asarray(lengths)
    batches: list[list[int]] = []
    step = MEGABATCH * batch_size
    for start in range(0, len(order), step):
        mega = order[start : start + step]
        mega = mega[np.argsort(-lens[mega], kind="stable")]
        batches += [mega[i : i + batch_size].tolist() for i in range(0, len(mega), batch_size)]
    perm = rng.permutation(len(batches)).tolist()
    batches = [batches[i] for i in perm]
    # the longest batch first: an out-of-memory error shows at step 1, not hours in
    longest = max(range(len(batches)), key=lambda i: lens[batches[i]].max(), default=0)
    if batches:
        batches.insert(0, batches.pop(longest))
    return batches


def pad_collate(items: Sequence[dict], pad_id: int) -> dict:
    """Stack ``{"input_ids": [...], "labels": int}`` items, padding to the batch's longest."""
    torch = require("torch")
    width = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, it in enumerate(items):
        seq = it["input_ids"]
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if "labels" in items[0]:
        batch["labels"] = collate_labels(torch, [it["labels"] for it in items])
    return batch


def collate_labels(torch, labels: list):
    """Class indices as a long tensor; label-set vectors (0/1 per class) as a float matrix."""
    if np.ndim(labels[0]) == 1:
        return torch.as_tensor(np.stack(labels), dtype=torch.float32)
    return torch.as_tensor(labels, dtype=torch.long)


class TensorItems(Sequence):
    """Items held as whole tensors, one row per item: ``TensorItems(features=x, labels=y)``.

    ``items[i]`` is the dict a list of items would hold (a numpy row; a class index as ``int``),
    so code written for lists of dicts reads it unchanged; :func:`take_batch` gives the batch of
    rows ``idx`` as one ``index_select`` per field, with the tensors a per-item collate of the
    same rows builds (float32 rows; labels long, or float32 0/1 rows for label sets).
    """

    def __init__(self, **columns):
        torch = require("torch")
        self.columns = {}
        for name, values in columns.items():
            values = np.asarray(values)
            if name == "labels":
                dtype = torch.float32 if values.ndim == 2 else torch.long
            else:
                dtype = torch.float32 if values.dtype.kind == "f" else torch.long
            self.columns[name] = torch.as_tensor(values, dtype=dtype).contiguous()
        sizes = {len(v) for v in self.columns.values()}
        if len(sizes) > 1:
            raise ValueError(f"TensorItems: columns of different lengths {sorted(sizes)}")
        self._n = sizes.pop() if sizes else 0

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if not isinstance(i, int | np.integer):
            raise TypeError("TensorItems: index with an int (take_batch gives batches)")
        if not -self._n <= i < self._n:
            raise IndexError(i)
        row = {k: v[i].numpy() for k, v in self.columns.items()}
        if "labels" in row and row["labels"].ndim == 0:
            row["labels"] = int(row["labels"])
        return row

    def take(self, idx) -> dict:
        """The batch of rows ``idx`` (any int sequence), one ``index_select`` per field."""
        torch = require("torch")
        index = torch.as_tensor(np.asarray(idx, dtype=np.int64))
        return {k: v.index_select(0, index) for k, v in self.columns.items()}


def take_batch(items, idx, collate: Callable) -> dict:
    """The collated batch of ``items`` at positions ``idx``: :meth:`TensorItems.take`, or
    ``collate`` over the listed items."""
    if isinstance(items, TensorItems):
        return items.take(idx)
    return collate([items[j] for j in idx])


def item_column(items, name: str) -> list | np.ndarray:
    """Field ``name`` of every item (a numpy array for :class:`TensorItems`)."""
    if isinstance(items, TensorItems):
        return items.columns[name].numpy()
    return [it[name] for it in items]


def item_lengths(items) -> list[int] | None:
    """Tokens per item (``input_ids``), or None when items have no token ids (fixed-size rows)."""
    if isinstance(items, TensorItems) or not len(items) or "input_ids" not in items[0]:
        return None
    return [len(it["input_ids"]) for it in items]

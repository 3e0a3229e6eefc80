"""Frozen-encoder sentence embeddings, cached on disk: one home for every backend built on them.

Embeddings are computed once — sorted by length, batched, under ``torch.inference_mode`` — and
cached under a key of model, pooling, max length, long-text mode and the texts' hash, so a second run with
another head, loss or sampler (or another backend on the same embeddings: ``embedding_head``,
``prototype``) starts at once. The encoder's parameter count is kept beside the cache, so a run
that only reads the cache still knows the model's size. Within one process each distinct text is
embedded once (a memo by text): another carve or a refit's union of rows reads it back.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from tailtune._atomic import atomic_path, write_text
from tailtune._extras import require
from tailtune.backends._hf import (
    load_pretrained,
    load_tokenizer,
    pick_device,
    quiet_transformers,
    resolve_source,
)
from tailtune.backends._long_text import encode_windows, pool_rows

__all__ = ["FrozenEncoder", "embed_ids", "embed_texts", "embedding_cache_key"]


class FrozenEncoder:
    """Mixin: ``_embed(texts)`` for a backend with ``model_name``, ``max_length``, an
    ``embedding`` settings object (``pooling``, ``normalize``, ``embed_batch_size``,
    ``cache_dir``) and a ``window`` (:class:`~tailtune.backends._long_text.TextWindow`: how a
    long text is read); ``_encoder_device`` says where the encoder runs."""

    def _encoder_device(self) -> tuple[str, int | None]:
        """``(device, torch threads or None)`` for the frozen encoder."""
        return "auto", None

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, bool]:
        """Pooled embeddings of ``texts`` (from the cache when present); also whether it hit."""
        p = self.embedding
        # a body tuned in this run embeds for this run alone: memo only, no disk cache
        path = None if getattr(self, "body_fingerprint_", None) else self._cache_file(texts)
        memo = _memo(self._memo_key())
        if path is not None and path.is_file():
            x, hit = np.load(path), True
        else:
            x = np.zeros((len(texts), 0), dtype=np.float32)
            todo = [i for i, t in enumerate(texts) if t not in memo]
            if todo:
                tok, model = self._load_encoder()
                if path is not None:
                    self._record_encoder_size(path.with_suffix(".json"), model)
                new = embed_texts(
                    model,
                    tok,
                    [texts[i] for i in todo],
                    pooling=p.pooling,
                    max_length=self.max_length,
                    batch_size=p.embed_batch_size,
                    window=self.window,
                )
                memo.update(zip((texts[i] for i in todo), new, strict=True))
            elif path is not None and self.model_name in _ENCODER_PARAMS:  # all from the memo
                self.encoder_params_ = _ENCODER_PARAMS[self.model_name]
                self._record_encoder_size(path.with_suffix(".json"), None)
            if texts:
                x = np.stack([memo[t] for t in texts]).astype(np.float32)
            if path is not None:  # atomic, under a name unique to this process: parallel
                with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # runs share the cache
                    np.save(fh, x)
            hit = not todo
        _remember(memo, texts, x)
        if p.normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x.astype(np.float32), hit

    def _cache_file(self, texts: list[str]) -> Path:
        """Where the embeddings of ``texts`` are cached (``<key>.npy``; the encoder's size is
        kept beside them as ``<key>.json``)."""
        key = embedding_cache_key(self.model_name, self._pooling_key(), self.max_length, texts)
        return Path(self.embedding.cache_dir or _default_cache()) / f"{key}.npy"

    def _pooling_key(self) -> str:
        """Pooling and, unless truncating, how a long text is read (truncate keeps the keys
        caches already have)."""
        pooling, w = self.embedding.pooling, self.window
        if w.long_text != "truncate":
            pooling += f"|{w.long_text}|{w.chunk_overlap}|{w.max_chunks}|{w.head_share}"
        if getattr(self, "body_fingerprint_", None):  # a body tuned by this run
            pooling += f"|body:{self.body_fingerprint_}"
        return pooling

    def _memo_key(self) -> tuple:
        """What makes one text's embedding (model, pooling, max length, long-text reading),
        and the cache it belongs with: a run given its own cache_dir starts afresh."""
        cache = self.embedding.cache_dir or str(_default_cache())
        return (self.model_name, self._pooling_key(), self.max_length, cache)

    def _record_encoder_size(self, sidecar: Path, model) -> None:
        """Write the encoder's parameter count beside its cached embeddings, so a run that only
        reads the cache still knows the model's size (the x-axis of a model-scaling curve);
        ``model`` None: the count this process measured before."""
        if model is not None:
            self.encoder_params_ = int(sum(p.numel() for p in model.parameters()))
            _ENCODER_PARAMS[self.model_name] = self.encoder_params_
        body = {"model": self.model_name, "encoder_params": self.encoder_params_}
        write_text(sidecar, json.dumps(body))

    def _encoder_size(self, texts: list[str]) -> int | None:
        """The encoder's parameter count: measured this run, or read beside the cache."""
        if getattr(self, "encoder_params_", None):
            return self.encoder_params_
        try:
            sidecar = self._cache_file(texts).with_suffix(".json")
            return int(json.loads(sidecar.read_text())["encoder_params"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a cache written before sizes were recorded

    def _load_encoder(self):
        """The encoder and its tokenizer (loaded once per backend object)."""
        if getattr(self, "_encoder_", None) is None:
            self._encoder_ = self._read_encoder(self.model_name)
        return self._encoder_

    def _read_encoder(self, source: str):
        """``(tokenizer, model)`` read from ``source`` (a model name or a saved folder), in
        eval mode on the encoder's device."""
        torch = require("torch")
        device, threads = self._encoder_device()
        if threads:
            torch.set_num_threads(threads)
        require("transformers")
        quiet_transformers()
        model = load_pretrained("AutoModel", source, dtype=torch.float32)
        model.to(pick_device(device)).eval()
        return load_tokenizer(source), model


def embedding_cache_key(model_name: str, pooling: str, max_length: int, texts: list[str]) -> str:
    """Hex key of (resolved model, pooling, max length, sha256 of the texts in order)."""
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x00")
    model = "/".join(str(part) for part in resolve_source(model_name, check=False) if part)
    head = f"{model}|{pooling}|{max_length}|{len(texts)}|{h.hexdigest()}"
    return hashlib.sha256(head.encode("utf-8")).hexdigest()[:32]


def embed_texts(
    model, tokenizer, texts, *, pooling="mean", max_length=128, batch_size=64, window=None
):
    """Pooled float32 embeddings (n, D): longest texts first, no gradients, original order.

    ``mean`` averages the last hidden states over real tokens (the sentence-transformers recipe
    for all-MiniLM-L6-v2); ``cls`` takes the first token's state. A long text is read as
    ``window`` says (:mod:`tailtune.backends._long_text`): in the chunk modes each window is
    embedded so, and a text's windows are then averaged or max-pooled.
    """
    ids, owner = encode_windows(tokenizer, list(texts), max_length, window)
    out = embed_ids(model, ids, tokenizer.pad_token_id, pooling=pooling, batch_size=batch_size)
    mode = window.long_text if window is not None else "truncate"
    return pool_rows(out, owner, len(texts), mode)


def embed_ids(model, ids, pad_id: int, *, pooling="mean", batch_size=64) -> np.ndarray:
    """Pooled float32 embeddings (n, D) of token-id sequences (special tokens included),
    batched longest first, in the original order."""
    torch = require("torch")
    order = np.argsort([-len(x) for x in ids], kind="stable")
    device = next(model.parameters()).device
    out = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(ids[i]) for i in rows)
            batch = torch.full((len(rows), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for j, i in enumerate(rows):
                batch[j, : len(ids[i])] = torch.as_tensor(ids[i])
                mask[j, : len(ids[i])] = 1
            hidden = model(input_ids=batch.to(device), attention_mask=mask.to(device))
            hidden = hidden.last_hidden_state.float()
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                m = mask.to(device).unsqueeze(-1).float()
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            out[rows] = pooled.cpu().numpy()
    return out


MEMO_ROWS = 200_000
"""Embeddings kept in memory per process (about 300 MB at MiniLM's 384 floats a row)."""
_MEMOS: dict[tuple, dict[str, np.ndarray]] = {}
_ENCODER_PARAMS: dict[str, int] = {}


def _memo(key: tuple) -> dict[str, np.ndarray]:
    """This process's text -> embedding rows for one encoder reading (``_memo_key``).

    The disk cache is keyed by a whole list of texts, so a subset of texts already embedded
    (another carve of the training data, a refit on train + validation) would miss it; the memo
    embeds each distinct text once per process, which is what makes several carves affordable.
    A row is the same whichever batch computed it (padding is masked out of attention and of
    mean pooling), up to float rounding."""
    return _MEMOS.setdefault(key, {})


def _remember(memo: dict[str, np.ndarray], texts: list[str], x: np.ndarray) -> None:
    """Keep ``texts``' rows in ``memo``; forget every memo first when it would grow too big."""
    if sum(len(m) for m in _MEMOS.values()) + len(texts) > MEMO_ROWS:
        for m in _MEMOS.values():
            m.clear()
    if len(texts) <= MEMO_ROWS:
        memo.update(zip(texts, x, strict=True))


def _default_cache() -> Path:
    """``$TAILTUNE_CACHE/embeddings`` or ``~/.cache/tailtune/embeddings``."""
    base = os.environ.get("TAILTUNE_CACHE") or Path.home() / ".cache" / "tailtune"
    return Path(base) / "embeddings"

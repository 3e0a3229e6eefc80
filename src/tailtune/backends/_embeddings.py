"""Frozen-encoder sentence embeddings, cached on disk: one home for every backend built on them.

Embeddings are computed once — sorted by length, batched, under ``torch.inference_mode`` — and
cached under a key of model, pooling, max length, long-text mode and the texts' hash, so a second run with
another head, loss or sampler (or another backend on the same embeddings: ``embedding_head``,
``prototype``) starts at once. The encoder's parameter count is kept beside the cache, so a run
that only reads the cache still knows the model's size.
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
        path = self._cache_file(texts)
        if path.is_file():
            x, hit = np.load(path), True
        else:
            tok, model = self._load_encoder()
            self._record_encoder_size(path.with_suffix(".json"), model)
            x = embed_texts(
                model,
                tok,
                texts,
                pooling=p.pooling,
                max_length=self.max_length,
                batch_size=p.embed_batch_size,
                window=self.window,
            )
            # atomic, under a name unique to this process: parallel runs may share the cache
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.save(fh, x)
            hit = False
        if p.normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x.astype(np.float32), hit

    def _cache_file(self, texts: list[str]) -> Path:
        """Where the embeddings of ``texts`` are cached (``<key>.npy``; the encoder's size is
        kept beside them as ``<key>.json``)."""
        p = self.embedding
        pooling, w = p.pooling, self.window
        if w.long_text != "truncate":  # truncate keeps the keys caches already have
            pooling += f"|{w.long_text}|{w.chunk_overlap}|{w.max_chunks}|{w.head_share}"
        key = embedding_cache_key(self.model_name, pooling, self.max_length, texts)
        return Path(p.cache_dir or _default_cache()) / f"{key}.npy"

    def _record_encoder_size(self, sidecar: Path, model) -> None:
        """Write the encoder's parameter count beside its cached embeddings, so a run that only
        reads the cache still knows the model's size (the x-axis of a model-scaling curve)."""
        self.encoder_params_ = int(sum(p.numel() for p in model.parameters()))
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
        """The frozen encoder and its tokenizer (loaded once per backend object)."""
        if getattr(self, "_encoder_", None) is None:
            torch = require("torch")
            device, threads = self._encoder_device()
            if threads:
                torch.set_num_threads(threads)
            require("transformers")
            quiet_transformers()
            model = load_pretrained("AutoModel", self.model_name, dtype=torch.float32)
            model.to(pick_device(device)).eval()
            self._encoder_ = (load_tokenizer(self.model_name), model)
        return self._encoder_


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


def _default_cache() -> Path:
    """``$TAILTUNE_CACHE/embeddings`` or ``~/.cache/tailtune/embeddings``."""
    base = os.environ.get("TAILTUNE_CACHE") or Path.home() / ".cache" / "tailtune"
    return Path(base) / "embeddings"

"""A small head on a frozen encoder's pooled embeddings: the CPU workhorse.

Kang et al. 2020 ("Decoupling Representation and Classifier for Long-Tailed Recognition", ICLR)
show that a good representation plus a classifier retrained for the tail competes with joint
training. Here the representation is a frozen transformers encoder (mean pooling by default);
embeddings are computed once — sorted by length, batched, under ``torch.inference_mode`` — and
cached on disk under a key of model, pooling, max length and the texts' hash, so a second run
with another head, loss or sampler starts training at once. The head (linear, or a one-hidden-
layer MLP) trains on the shared loop with every objective, sampler and early stopping.

The saved model holds the head only; the encoder is re-read from ``model_name`` at prediction.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from tailtune._extras import require
from tailtune._settings import check_choices
from tailtune.backends._common import (
    argmax_labels,
    encode_labels,
    read_backend_json,
    write_backend_json,
)
from tailtune.backends._hf import (
    load_pretrained,
    load_tokenizer,
    pick_device,
    quiet_transformers,
    resolve_source,
    seed_everything,
)
from tailtune.backends._long_text import TextWindow, encode_windows, pool_rows
from tailtune.backends._neural import NeuralBackend
from tailtune.backends.base import check_fit_input, decode_params, encode_params
from tailtune.errors import ConfigError, DataError
from tailtune.objectives.settings import Objective
from tailtune.training.settings import TrainSettings

__all__ = ["EmbeddingHeadBackend", "HeadSettings", "embed_texts", "embedding_cache_key"]


@dataclass
class HeadSettings:
    """Frozen-encoder embeddings and the head trained on them (config ``model.embedding``)."""

    pooling: Literal["mean", "cls"] = "mean"
    """Mean of the last hidden states over real tokens, or the first token's state."""
    normalize: bool = True
    """Scale each embedding to unit length before the head."""
    head: Literal["linear", "mlp"] = "linear"
    """A linear classifier, or one hidden GELU layer before it."""
    hidden_size: int = 512
    """Width of the MLP head's hidden layer."""
    dropout: float = 0.1
    """Dropout on the embedding (and the hidden layer), in [0, 1)."""
    embed_batch_size: int = 64
    """Texts per batch while embedding."""
    cache_dir: str | None = None
    """Embedding cache; null = $TAILTUNE_CACHE/embeddings or ~/.cache/tailtune/embeddings."""

    def validate(self, where: str = "model.embedding") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        for name in ("hidden_size", "embed_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}: got {getattr(self, name)}, expected at least 1")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{where}.dropout: got {self.dropout}, expected a value in [0, 1)")


class EmbeddingHeadBackend(NeuralBackend):
    """Frozen-encoder embeddings (cached) with a trained linear or MLP head."""

    name = "embedding_head"
    settings = {
        "objective": Objective,
        "train": TrainSettings,
        "embedding": HeadSettings,
        "window": TextWindow,
    }

    def __init__(
        self,
        model_name: str = "sentence-transformers/all-MiniLM-L6-v2",
        max_length: int = 128,
        objective: Objective | None = None,
        train: TrainSettings | None = None,
        embedding: HeadSettings | None = None,
        seed: int = 42,
        window: TextWindow | None = None,
        **flat,
    ):
        self.model_name = model_name
        self.max_length = max_length
        self.seed = seed
        self._init_settings(
            flat, objective=objective, train=train, embedding=embedding, window=window
        )
        self.history_: list[dict] = []
        self.info_: dict = {}
        self._encoder = None

    # -- training ----------------------------------------------------------------------------

    def fit(self, texts, labels, eval_set=None, work_dir=None) -> EmbeddingHeadBackend:
        """Embed (or read the cache), then train the head with early stopping on ``eval_set``."""
        from tailtune.training import fit_classifier
        from tailtune.training.objective import make_loss, softmax

        check_fit_input(texts, labels, eval_set)
        labels = np.asarray(labels, dtype=object).astype(str)
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.classes_ = self.classes_.astype(object)
        self.prior_ = counts / counts.sum()
        t0 = time.perf_counter()
        x_train, hit_train = self._embed(list(texts))
        val_items, hit_val = None, None
        if eval_set is not None:
            vt, vl = eval_set
            vl = np.asarray(vl, dtype=object).astype(str)
            keep = np.isin(vl, self.classes_)
            x_val, hit_val = self._embed([t for t, k in zip(vt, keep, strict=True) if k])
            val_items = _items(x_val, encode_labels(self.classes_, vl[keep]))
        embed_s = time.perf_counter() - t0
        s = self.loop_settings()
        if s.head_lr is not None:
            s.lr = s.head_lr  # the whole model is the head
        if s.lr < 1e-4:
            warnings.warn(
                f"embedding_head: lr {s.lr:g} is a fine-tuning rate; a head on frozen "
                "embeddings usually wants about 1e-3 (set train.lr or train.head_lr)",
                stacklevel=2,
            )
        seed_everything(self.seed)  # head initialization
        self.head_ = _head_model(x_train.shape[1], len(self.classes_), self.embedding)
        result = fit_classifier(
            self.head_,
            _items(x_train, encode_labels(self.classes_, labels)),
            collate=_collate,
            loss_fn=make_loss(counts, self.objective),
            num_classes=len(self.classes_),
            settings=s,
            eval_items=val_items,
            work_dir=work_dir,
        )
        self.history_ = result.history
        self.info_ = {
            **result.info,
            "embed_s": round(embed_s, 3),
            "embedding_cache_hit": bool(hit_train and hit_val is not False),
            "embedding_dim": int(x_train.shape[1]),
        }
        encoder = self._encoder_size(list(texts))
        if encoder is not None:  # the model's size is the encoder's plus the head's
            self.info_["encoder_params"] = encoder
            self.info_["total_params"] = encoder + int(self.info_.get("trainable_params", 0))
        if self.objective.tune_posthoc_tau and val_items:
            probs = softmax(self._head_logits(np.stack([it["features"] for it in val_items])))
            self._record_tau(probs, np.asarray([it["labels"] for it in val_items]))
        self.info_["posthoc_tau"] = self.posthoc_tau
        return self

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, bool]:
        """Pooled embeddings of ``texts`` (from the cache when present); also whether it hit."""
        p = self.embedding
        path = self._cache_file(texts)
        cache, key = path.parent, path.stem
        if path.is_file():
            x = np.load(path)
            hit = True
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
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cache / f".{key}.{os.getpid()}.npy"
            np.save(tmp, x)
            tmp.replace(path)  # atomic: parallel runs may share the cache
            hit = False
        if p.normalize:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x.astype(np.float32), hit

    def _cache_file(self, texts: list[str]) -> Path:
        """Where the embeddings of ``texts`` are cached (``<key>.npy``; the encoder's size is
        kept beside them as ``<key>.json``)."""
        p = self.embedding
        pooling = p.pooling
        if self.window.long_text != "truncate":  # truncate keeps the keys caches already have
            w = self.window
            pooling += f"|{w.long_text}|{w.chunk_overlap}|{w.max_chunks}|{w.head_share}"
        key = embedding_cache_key(self.model_name, pooling, self.max_length, texts)
        return Path(p.cache_dir or _default_cache()) / f"{key}.npy"

    def _record_encoder_size(self, sidecar: Path, model) -> None:
        """Write the encoder's parameter count beside its cached embeddings, so a run that only
        reads the cache still knows the model's size (the x-axis of a model-scaling curve)."""
        self.encoder_params_ = int(sum(p.numel() for p in model.parameters()))
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}")
        tmp.write_text(
            json.dumps({"model": self.model_name, "encoder_params": self.encoder_params_})
        )
        tmp.replace(sidecar)

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
        if self._encoder is None:
            torch = require("torch")
            if self.train.num_threads:
                torch.set_num_threads(self.train.num_threads)
            require("transformers")
            quiet_transformers()
            model = load_pretrained("AutoModel", self.model_name, dtype=torch.float32)
            model.to(pick_device(self.train.device)).eval()
            self._encoder = (load_tokenizer(self.model_name), model)
        return self._encoder

    # -- prediction --------------------------------------------------------------------------

    def _head_logits(self, x: np.ndarray) -> np.ndarray:
        """Head logits for embeddings ``x`` (n, D)."""
        from tailtune.training import predict_logits

        logits = predict_logits(
            self.head_,
            _items(x),
            collate=_collate,
            batch_size=4096,
            device=next(self.head_.parameters()).device,
        )
        return logits.numpy()

    def predict_proba(self, texts) -> np.ndarray:
        """Class probabilities (n, K) in ``classes_`` order, post-hoc adjusted when τ > 0."""
        from tailtune.training.objective import softmax

        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        probs = softmax(self._head_logits(self._embed(texts)[0]))
        if self.posthoc_tau:
            from tailtune.objectives.adjust import adjust_probabilities

            probs = adjust_probabilities(probs, self.prior_, self.posthoc_tau)
        return probs

    def _checkpoint_module(self):
        return self.head_

    def predict(self, texts) -> np.ndarray:
        """Most probable label of each text."""
        return argmax_labels(self.classes_, self.predict_proba(texts))

    # -- persistence -------------------------------------------------------------------------

    def save(self, path) -> None:
        """``backend.json``, ``head.safetensors`` (the head's weights) and ``state.json``."""
        from safetensors.torch import save_file

        path = Path(path)
        write_backend_json(path, self.name, encode_params(self.get_params(deep=False)))
        weights = {k: v.detach().cpu().contiguous() for k, v in self.head_.state_dict().items()}
        save_file(weights, str(path / "head.safetensors"))
        state = {
            "classes": list(self.classes_),
            "prior": self.prior_.tolist(),
            "dim": int(
                self.head_.classifier.in_features
                if self.embedding.head == "linear"
                else self.head_.hidden[0].in_features
            ),
            "info": self.info_,
            "history": self.history_,
        }
        (path / "state.json").write_text(json.dumps(state, default=str), encoding="utf-8")

    @classmethod
    def load(cls, path) -> EmbeddingHeadBackend:
        """Load the head; the frozen encoder is read from ``model_name`` when first needed.

        Weights come from safetensors (or, for models saved before, ``head.pt`` read with
        ``weights_only=True``): loading never unpickles arbitrary objects."""
        path = Path(path)
        obj = cls(**decode_params(cls, read_backend_json(path)["params"]))
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        obj.classes_ = np.asarray(state["classes"], dtype=object)
        obj.prior_ = np.asarray(state["prior"])
        obj.info_, obj.history_ = state["info"], state["history"]
        obj.head_ = _head_model(state["dim"], len(obj.classes_), obj.embedding)
        obj.head_.load_state_dict(_read_weights(path))
        obj.head_.eval()
        return obj


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


def _items(x: np.ndarray, y=None) -> list[dict]:
    """Loop items: one embedding row (and label) each."""
    if y is None:
        return [{"features": row} for row in x]
    return [{"features": row, "labels": int(lab)} for row, lab in zip(x, y, strict=True)]


def _collate(items) -> dict:
    """Stack embedding rows into a (B, D) tensor."""
    torch = require("torch")
    batch = {"features": torch.from_numpy(np.stack([it["features"] for it in items]))}
    if "labels" in items[0]:
        batch["labels"] = torch.as_tensor([it["labels"] for it in items], dtype=torch.long)
    return batch


@functools.cache
def _head_class():
    """The head module class (defined lazily so that torch is imported only when used)."""
    nn = require("torch").nn

    class Head(nn.Module):
        """Dropout on the embedding, optional hidden layer, then the linear classifier."""

        def __init__(self, dim: int, k: int, kind: str, hidden: int, dropout: float):
            super().__init__()
            self.dropout = nn.Dropout(dropout)
            if kind == "mlp":
                self.hidden = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout))
                dim = hidden
            else:
                self.hidden = nn.Identity()
            self.classifier = nn.Linear(dim, k)

        def forward(self, features):
            return self.classifier(self.hidden(self.dropout(features)))

    return Head


def _head_model(dim: int, k: int, p: HeadSettings):
    """A fresh head for ``dim``-wide embeddings and ``k`` classes."""
    p.validate()
    return _head_class()(dim, k, p.head, p.hidden_size, p.dropout)


def _read_weights(path: Path) -> dict:
    """The head's state dict from ``head.safetensors`` (or an older ``head.pt``, weights only)."""
    torch = require("torch")
    if (path / "head.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(str(path / "head.safetensors"), device="cpu")
    if (path / "head.pt").is_file():
        try:
            return torch.load(path / "head.pt", map_location="cpu", weights_only=True)
        except Exception as exc:  # a planted pickle fails here, before any of it runs
            raise DataError(
                f"{path / 'head.pt'}: not a plain tensor file, refused ({exc})"
            ) from None
    raise DataError(f"{path}: no head.safetensors (not a saved embedding-head model)")

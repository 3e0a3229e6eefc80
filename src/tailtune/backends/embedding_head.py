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
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from tailtune._atomic import write_bytes
from tailtune._extras import require
from tailtune._settings import check_choices
from tailtune.backends._embeddings import FrozenEncoder, embed_texts, embedding_cache_key
from tailtune.backends._hf import seed_everything
from tailtune.backends._long_text import TextWindow
from tailtune.backends._neural import NeuralBackend
from tailtune.errors import ConfigError, DataError
from tailtune.objectives.settings import ObjectiveSettings
from tailtune.training.batching import TensorItems, collate_labels, item_column
from tailtune.training.budget import parse_duration
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
    init: Literal["random", "label_names"] = "random"
    """The classifier's rows: random, or each class name's unit embedding (linear head only)."""
    tau_norm: float = 0.0
    """τ-normalisation (Kang et al. 2020): each class's logit divided by ‖w_c‖^τ; 0 = off."""
    tune_tau_norm: bool = False
    """Choose tau_norm in 0, 0.1, …, 1 by macro F1 on the validation split (single-label)."""
    body_steps: int = 0
    """Contrastive tuning of the encoder's body before the head (SetFit's idea): this many
    steps of ``body_batch_size`` texts; 0 = the body stays frozen and embeddings are cached."""
    body_tokens: int | None = None
    """Cap on the tokens the body tuning reads in all (steps × batch × the training texts' mean
    length at ``body_max_length``): fewer steps for longer texts, the same on every machine;
    null = ``body_steps`` alone."""
    body_budget: float | str | None = None
    """Wall-time cap on the body tuning ("5m", "300s", seconds); null = ``body_steps`` alone.
    The steps a budget allowed are recorded, and a refit runs that many."""
    body_lr: float = 2e-5
    """AdamW learning rate of the body tuning (warm-up over 10% of steps, then linear decay)."""
    body_batch_size: int = 32
    """Texts per body-tuning step: half as many classes, two texts each."""
    body_max_length: int | None = 128
    """Tokens of each text the body tuning reads (null = ``model.max_length``): a step's cost
    grows with it, and the tuned body still embeds up to ``model.max_length`` afterwards."""

    def validate(self, where: str = "model.embedding") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        for name in ("hidden_size", "embed_batch_size", "body_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}: got {getattr(self, name)}, expected at least 1")
        if self.body_max_length is not None and self.body_max_length < 8:
            raise ConfigError(
                f"{where}.body_max_length: got {self.body_max_length}, expected at least 8 or null"
            )
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{where}.dropout: got {self.dropout}, expected a value in [0, 1)")
        if self.init == "label_names" and self.head != "linear":
            raise ConfigError(
                f"{where}.init: got 'label_names' with head '{self.head}', expected head "
                "'linear' (a class name's embedding is a row of a linear classifier)"
            )
        if not 0 <= self.tau_norm <= 2:
            raise ConfigError(f"{where}.tau_norm: got {self.tau_norm}, expected a value in [0, 2]")
        if self.body_tokens is not None and self.body_tokens < 1:
            raise ConfigError(
                f"{where}.body_tokens: got {self.body_tokens}, expected at least 1 or null"
            )
        if self.body_steps < 0:
            raise ConfigError(f"{where}.body_steps: got {self.body_steps}, expected 0 or more")
        if not self.body_lr > 0:
            raise ConfigError(f"{where}.body_lr: got {self.body_lr}, expected a value above 0")
        if self.body_batch_size < 4:
            raise ConfigError(
                f"{where}.body_batch_size: got {self.body_batch_size}, expected at least 4 "
                "(two texts of each of at least two classes)"
            )
        parse_duration(self.body_budget, f"{where}.body_budget")


class EmbeddingHeadBackend(FrozenEncoder, NeuralBackend):
    """Frozen-encoder embeddings (cached) with a trained linear or MLP head."""

    name = "embedding_head"
    takes_sets = True
    settings = {
        "objective": ObjectiveSettings,
        "train": TrainSettings,
        "embedding": HeadSettings,
        "window": TextWindow,
    }
    export_forms = {"onnx": "pooled_head"}
    export_refusals = {
        "hf": (
            "an embedding-head run pools a frozen encoder (mean, normalized) into its own head, "
            "which no transformers *ForSequenceClassification class holds; use --format onnx"
        )
    }

    def __init__(
        self,
        model_name: str = "sentence-transformers/all-MiniLM-L6-v2",
        max_length: int = 128,
        objective: ObjectiveSettings | None = None,
        train: TrainSettings | None = None,
        embedding: HeadSettings | None = None,
        seed: int = 42,
        window: TextWindow | None = None,
    ):
        self._store(locals())

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        """Embed (or read the cache), then train the head with early stopping on ``eval_set``.
        Label sets: one sigmoid per label under ``objective.set_loss``, early stopping on the
        macro F1 of the thresholds the saved model will use."""
        from tailtune.training import fit_classifier

        y = self.space_.encode(labels)
        multi = self.space_.kind == "multi"
        objective = self._objective_kwargs(y)
        body = self._tune_body(texts, y)
        t0 = time.perf_counter()
        x_train, hit_train = self._embed(texts)
        val_items, hit_val = None, None
        if eval_set is not None:
            val_texts, val_y = self.space_.known(*eval_set)
            x_val, hit_val = self._embed(val_texts)
            val_items = _items(x_val, val_y)
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
        if self.embedding.init == "label_names":
            _init_rows(self.head_, self._embed([str(c) for c in self.classes_])[0])
        result = fit_classifier(
            self.head_,
            _items(x_train, y),
            collate=_collate,
            settings=s,
            eval_items=val_items,
            work_dir=work_dir,
            **objective,
        )
        self.history_ = result.history
        tau_norm = self._choose_tau_norm(val_items if not multi else None)
        _fold_tau_norm(self.head_, tau_norm)
        self.info_ = {
            **result.info,
            **body,
            "tau_norm": tau_norm,
            "embed_s": round(embed_s, 3),
            "embedding_cache_hit": bool(hit_train and hit_val is not False),
            "embedding_dim": int(x_train.shape[1]),
        }
        encoder = self._encoder_size(texts)
        if encoder is not None:  # the model's size is the encoder's plus the head's
            self.info_["encoder_params"] = encoder
            self.info_["total_params"] = encoder + int(self.info_.get("trainable_params", 0))
            if body:  # the tuned body trained too
                self.info_["trainable_params"] = self.info_["total_params"]

    def _tune_body(self, texts: list[str], y) -> dict:
        """With ``embedding.body_steps``, tune the encoder's body contrastively on the training
        labels (:func:`tailtune.backends._contrastive.tune_body`) and name the tuned weights by
        a hash of them, so its embeddings never mix with the frozen encoder's in the memo (and
        skip the disk cache: they belong to this run alone). {} when the body stays frozen."""
        self.body_fingerprint_ = None
        p = self.embedding
        if not p.body_steps:
            return {}
        from tailtune.backends._contrastive import tune_body

        tok, model = self._load_encoder()
        self.encoder_params_ = int(sum(t.numel() for t in model.parameters()))
        for t in model.parameters():
            t.requires_grad_(True)
        seed_everything(self.seed)
        info = tune_body(
            model,
            tok,
            texts,
            y,
            steps=p.body_steps,
            tokens=p.body_tokens,
            budget_s=parse_duration(p.body_budget, "model.embedding.body_budget"),
            lr=p.body_lr,
            batch_size=p.body_batch_size,
            max_length=min(self.max_length, p.body_max_length or self.max_length),
            seed=self.seed,
            pooling=p.pooling,
            log=_stderr_line if self.train.progress else None,
        )
        for t in model.parameters():
            t.requires_grad_(False)
        self.body_fingerprint_ = _fingerprint(model)
        return info

    def _encoder_device(self) -> tuple[str, int | None]:
        return self.train.device, self.train.num_threads

    def frozen_params(self) -> dict:
        """As every neural backend's, plus the τ-normalisation chosen on validation."""
        out = super().frozen_params()
        if self.embedding.body_budget is not None and self.info_.get("body_steps"):
            # a refit tunes the body for the steps this run's budget allowed, budget or not
            out.update({"embedding__body_steps": int(self.info_["body_steps"]),
                        "embedding__body_budget": None})  # fmt: skip
        if self.embedding.tune_tau_norm:
            out.update({"embedding__tau_norm": float(self.info_.get("tau_norm", 0.0)),
                        "embedding__tune_tau_norm": False})  # fmt: skip
        return out

    def _choose_tau_norm(self, val_items) -> float:
        """``embedding.tau_norm``, or with ``tune_tau_norm`` the τ of 0, 0.1, …, 1 whose
        normalised logits give the best macro F1 on the validation items (ties: smaller τ)."""
        p = self.embedding
        if not (p.tune_tau_norm and val_items):
            return float(p.tau_norm)
        from tailtune.evaluation import compute_metrics

        logits = self._head_logits(np.asarray(item_column(val_items, "features")))
        gold = np.asarray(item_column(val_items, "labels"))
        norms = _row_norms(self.head_)
        best = max(
            (compute_metrics(gold, (logits / norms**tau).argmax(axis=1))["macro_f1"], -tau)
            for tau in np.round(np.linspace(0, 1, 11), 2)
        )
        return float(-best[1])

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

    def _raw_proba(self, texts) -> np.ndarray:
        from tailtune.training.objective import softmax

        logits = self._head_logits(self._embed(texts)[0])
        if self.space_.kind == "multi":  # one sigmoid per label
            from tailtune.backends._sets import sigmoid

            return sigmoid(logits)
        return softmax(logits)

    def _checkpoint_module(self):
        return self.head_

    # -- persistence -------------------------------------------------------------------------

    def _state(self, path: Path) -> dict:
        """The head's weights in ``head.safetensors``; a tuned body with its tokenizer in
        ``body/`` (a frozen encoder is re-read from ``model_name`` at prediction)."""
        from safetensors.torch import save

        weights = {k: v.detach().cpu().contiguous() for k, v in self.head_.state_dict().items()}
        write_bytes(path / "head.safetensors", save(weights))
        linear = self.embedding.head == "linear"
        layer = self.head_.classifier if linear else self.head_.hidden[0]
        state = {"dim": int(layer.in_features)}
        if getattr(self, "body_fingerprint_", None):
            tok, model = self._encoder_
            model.save_pretrained(path / "body")
            tok.save_pretrained(path / "body")
            state["body_fingerprint"] = self.body_fingerprint_
        return state

    def _restore(self, path: Path, state: dict, **options) -> None:
        """The head from safetensors (or, for models saved before, ``head.pt`` read with
        ``weights_only=True``): loading never unpickles arbitrary objects. A tuned body is
        read from ``body/``."""
        self.head_ = _head_model(state["dim"], len(self.classes_), self.embedding)
        self.head_.load_state_dict(_read_weights(path))
        self.head_.eval()
        self.body_fingerprint_ = state.get("body_fingerprint")
        if self.body_fingerprint_:
            self._encoder_ = self._read_encoder(str(path / "body"))


def _items(x: np.ndarray, y=None) -> TensorItems:
    """Loop items: one embedding row (and label: a class index, or a 0/1 vector for label sets)
    each, held as whole tensors so that a batch is one ``index_select`` (see ``_collate``)."""
    if y is None:
        return TensorItems(features=x)
    return TensorItems(features=x, labels=y)


def _collate(items) -> dict:
    """Stack embedding rows into a (B, D) tensor: the loop's per-item collate, used for lists of
    items (``_items`` gives TensorItems, which the loop batches by index with the same result)."""
    torch = require("torch")
    batch = {"features": torch.from_numpy(np.stack([it["features"] for it in items]))}
    if "labels" in items[0]:
        batch["labels"] = collate_labels(torch, [it["labels"] for it in items])
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


def _init_rows(head, names: np.ndarray) -> None:
    """Start each classifier row at its class name's unit embedding, bias 0: before training,
    a text's logit for a class is its cosine similarity to the class's name."""
    torch = require("torch")
    unit = names / np.maximum(np.linalg.norm(names, axis=1, keepdims=True), 1e-12)
    with torch.no_grad():
        head.classifier.weight.copy_(torch.from_numpy(unit.astype(np.float32)))
        head.classifier.bias.zero_()


def _row_norms(head) -> np.ndarray:
    """‖w_c‖ of each classifier row, shaped (1, k) to divide a batch of logits."""
    w = head.classifier.weight.detach().cpu().numpy()
    return np.maximum(np.linalg.norm(w, axis=1), 1e-12)[None, :]


def _fold_tau_norm(head, tau: float) -> None:
    """τ-normalisation (Kang et al. 2020, eq. 4: w_c / ‖w_c‖^τ) folded into the classifier: each
    class's row and bias divided by ‖w_c‖^τ, so the head's logit for class c is divided by it.
    A frequent class's row grows longer in training; τ = 1 puts every class on one norm.
    Folding keeps predict, save and every export the plain head."""
    if not tau:
        return
    torch = require("torch")
    scale = torch.from_numpy(_row_norms(head)[0] ** tau).float()
    with torch.no_grad():
        head.classifier.weight.div_(scale[:, None])
        head.classifier.bias.div_(scale)


def _head_model(dim: int, k: int, p: HeadSettings):
    """A fresh head for ``dim``-wide embeddings and ``k`` classes."""
    p.validate()
    return _head_class()(dim, k, p.head, p.hidden_size, p.dropout)


def _stderr_line(text: str) -> None:
    """A progress line of the body tuning (it runs before the loop draws its own)."""
    import sys

    print(text, file=sys.stderr, flush=True)


def _fingerprint(model) -> str:
    """A short sha256 of a model's weights, in parameter order."""
    import hashlib

    h = hashlib.sha256()
    for t in model.state_dict().values():
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


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
            # torch's own message advises weights_only=False: never ours to give
            why = exc.__class__.__name__
            raise DataError(
                f"{path / 'head.pt'}: not a plain tensor file, refused ({why}: it holds pickled "
                "objects or is damaged, and tailtune never unpickles objects)"
            ) from None
    raise DataError(f"{path}: no head.safetensors (not a saved embedding-head model)")

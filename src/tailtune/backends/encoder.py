"""Full fine-tuning of a transformers encoder (BERT, ModernBERT, MiniLM, DeBERTa, ...).

``AutoModelForSequenceClassification`` with a fresh head, trained by
:func:`tailtune.training.fit_classifier` under an :class:`~tailtune.objectives.Objective` and
:class:`~tailtune.training.TrainSettings` (``EncoderBackend(model_name=..., objective=...,
train=...)``; their fields may also be given flat, ``EncoderBackend(lr=1e-4)``). The label names
travel inside the saved model (``id2label`` / ``label2id``), and ``load`` reproduces the logits
exactly.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from tailtune._extras import require
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
    seed_everything,
)
from tailtune.backends._long_text import (
    TextWindow,
    encode_windows,
    pool_rows,
    pooled_metrics,
    window_items,
)
from tailtune.backends._neural import NeuralBackend, known_rows
from tailtune.backends.base import check_fit_input, decode_params, encode_params
from tailtune.objectives.settings import Objective
from tailtune.training.settings import TrainSettings

__all__ = ["EncoderBackend"]

HEAD_PREFIXES = ("classifier", "score", "head", "pre_classifier")


class EncoderBackend(NeuralBackend):
    """Fine-tune every weight of an encoder with a classification head."""

    name = "encoder"
    settings = {"objective": Objective, "train": TrainSettings, "window": TextWindow}

    def __init__(
        self,
        model_name: str = "sentence-transformers/all-MiniLM-L6-v2",
        max_length: int = 128,
        objective: Objective | None = None,
        train: TrainSettings | None = None,
        seed: int = 42,
        window: TextWindow | None = None,
        **flat,
    ):
        self.model_name = model_name
        self.max_length = max_length
        self.seed = seed
        self._init_settings(flat, objective=objective, train=train, window=window)
        self.history_: list[dict] = []
        self.info_: dict = {}

    # -- training ----------------------------------------------------------------------------

    def fit(self, texts, labels, eval_set=None, work_dir=None) -> EncoderBackend:
        """Fine-tune on ``texts``/``labels``; evaluate and early-stop on ``eval_set``."""
        from tailtune.training import fit_classifier, pad_collate
        from tailtune.training.objective import make_loss, softmax
        from tailtune.training.preflight import check_pad_token

        check_fit_input(texts, labels, eval_set)
        labels = np.asarray(labels, dtype=object).astype(str)
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.classes_ = self.classes_.astype(object)
        self.prior_ = counts / counts.sum()
        seed_everything(self.seed)  # before the head is created: the seed fixes its init
        self.tokenizer_ = load_tokenizer(self.model_name)
        check_pad_token(self.tokenizer_)
        self.model_ = self._new_model()
        items, _ = self._items(texts, encode_labels(self.classes_, labels))
        val_items, dropped, metrics_fn = None, 0, None
        if eval_set is not None:
            val_texts, val_labels = known_rows(eval_set, self.classes_)
            dropped = len(eval_set[0]) - len(val_texts)
            val_items, owner = self._items(val_texts, encode_labels(self.classes_, val_labels))
            if self.window.chunked and val_items:  # early stopping on pooled, per-text scores
                metrics_fn = pooled_metrics(owner, self.window.long_text)
        result = fit_classifier(
            self.model_,
            items,
            collate=functools.partial(pad_collate, pad_id=self.tokenizer_.pad_token_id),
            loss_fn=make_loss(counts, self.objective),
            num_classes=len(self.classes_),
            settings=self.loop_settings(),
            eval_items=val_items,
            metrics_fn=metrics_fn,
            work_dir=work_dir,
            head_prefixes=HEAD_PREFIXES,
        )
        self.history_, self.info_ = result.history, {**result.info, "val_rows_unseen": dropped}
        if self.objective.tune_posthoc_tau and val_items:
            probs = softmax(self._text_logits(val_texts))
            self._record_tau(probs, np.asarray([it["labels"] for it in val_items]))
        self.info_["posthoc_tau"] = self.posthoc_tau
        return self

    def _new_model(self):
        """The pretrained encoder with a fresh, seeded classification head, in float32."""
        torch = require("torch")
        require("transformers")
        quiet_transformers()
        id2label = {i: str(c) for i, c in enumerate(self.classes_)}
        model = load_pretrained(
            "AutoModelForSequenceClassification",
            self.model_name,
            num_labels=len(self.classes_),
            id2label=id2label,
            label2id={c: i for i, c in id2label.items()},
            dtype=torch.float32,
        )
        model.config.pad_token_id = self.tokenizer_.pad_token_id
        return model

    def _items(self, texts, y) -> tuple[list[dict], np.ndarray]:
        """Token ids (unpadded) with label indices, one item per window (model.long_text),
        and the text each item comes from."""
        return window_items(self.tokenizer_, list(texts), y, self.max_length, self.window)

    # -- prediction --------------------------------------------------------------------------

    def _logits(self, token_ids: list[list[int]]) -> np.ndarray:
        """Raw logits (n, K), batched by length on the model's device."""
        from tailtune.training import pad_collate, predict_logits

        items = [{"input_ids": ids} for ids in token_ids]
        logits = predict_logits(
            self.model_,
            items,
            collate=functools.partial(pad_collate, pad_id=self.tokenizer_.pad_token_id),
            batch_size=self.train.eval_batch_size,
            device=next(self.model_.parameters()).device,
            lengths=[len(ids) for ids in token_ids],
        )
        return logits.numpy()

    def _text_logits(self, texts: list[str]) -> np.ndarray:
        """Logits (n, K) of whole texts: a long text's windows pooled as ``window`` says."""
        seqs, owner = encode_windows(self.tokenizer_, texts, self.max_length, self.window)
        return pool_rows(self._logits(seqs), owner, len(texts), self.window.long_text)

    def predict_proba(self, texts) -> np.ndarray:
        """Class probabilities (n, K) in ``classes_`` order, post-hoc adjusted when τ > 0."""
        from tailtune.training.objective import softmax

        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        probs = softmax(self._text_logits(texts))
        if self.posthoc_tau:
            from tailtune.objectives.adjust import adjust_probabilities

            probs = adjust_probabilities(probs, self.prior_, self.posthoc_tau)
        return probs

    def _checkpoint_module(self):
        return self.model_

    def predict(self, texts) -> np.ndarray:
        """Most probable label of each text."""
        return argmax_labels(self.classes_, self.predict_proba(texts))

    # -- persistence -------------------------------------------------------------------------

    def save(self, path) -> None:
        """``backend.json``, the transformers model and tokenizer in ``model/``, ``state.json``."""
        path = Path(path)
        write_backend_json(path, self.name, encode_params(self.get_params(deep=False)))
        self.model_.save_pretrained(path / "model")
        self.tokenizer_.save_pretrained(path / "model")
        state = {
            "classes": list(self.classes_),
            "prior": self.prior_.tolist(),
            "info": self.info_,
            "history": self.history_,
        }
        (path / "state.json").write_text(json.dumps(state, default=str), encoding="utf-8")

    @classmethod
    def load(cls, path, device: str = "auto") -> EncoderBackend:
        """Load a saved encoder backend (on CUDA when available, unless ``device='cpu'``)."""
        torch = require("torch")
        transformers = require("transformers")
        quiet_transformers()
        path = Path(path)
        obj = cls(**decode_params(cls, read_backend_json(path)["params"]))
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        obj.classes_ = np.asarray(state["classes"], dtype=object)
        obj.prior_ = np.asarray(state["prior"])
        obj.info_, obj.history_ = state["info"], state["history"]
        obj.tokenizer_ = transformers.AutoTokenizer.from_pretrained(path / "model")
        obj.model_ = transformers.AutoModelForSequenceClassification.from_pretrained(
            path / "model", dtype=torch.float32, local_files_only=True
        ).to(pick_device(device))
        obj.model_.eval()
        return obj

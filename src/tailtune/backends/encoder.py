"""Full fine-tuning of a transformers encoder (BERT, ModernBERT, MiniLM, DeBERTa, ...).

``AutoModelForSequenceClassification`` with a fresh head, trained by
:func:`tailtune.training.fit_classifier` under an :class:`~tailtune.objectives.ObjectiveSettings` and
:class:`~tailtune.training.TrainSettings` (``EncoderBackend(model_name=..., objective=...,
train=...)``; their fields may also be given flat, ``EncoderBackend.from_flat(lr=1e-4)``). The label names
travel inside the saved model (``id2label`` / ``label2id``), and ``load`` reproduces the logits
exactly.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from tailtune._extras import require
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
from tailtune.backends._neural import NeuralBackend
from tailtune.errors import ConfigError
from tailtune.objectives.settings import ObjectiveSettings
from tailtune.training.settings import TrainSettings

__all__ = ["EncoderBackend"]

HEAD_PREFIXES = ("classifier", "score", "head", "pre_classifier")


class EncoderBackend(NeuralBackend):
    """Fine-tune every weight of an encoder with a classification head."""

    name = "encoder"
    takes_sets = True
    settings = {"objective": ObjectiveSettings, "train": TrainSettings, "window": TextWindow}

    def __init__(
        self,
        model_name: str = "sentence-transformers/all-MiniLM-L6-v2",
        max_length: int = 128,
        objective: ObjectiveSettings | None = None,
        train: TrainSettings | None = None,
        seed: int = 42,
        window: TextWindow | None = None,
    ):
        self._store(locals())

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        """Fine-tune on ``texts``/``labels``; evaluate and early-stop on ``eval_set``. Label sets:
        one sigmoid per label under ``objective.set_loss`` (the model's config says
        ``problem_type: multi_label_classification``), early stopping on the macro F1 of the
        thresholds the saved model will use."""
        from tailtune.training import fit_classifier, pad_collate
        from tailtune.training.preflight import check_pad_token

        y = self.space_.encode(labels)
        objective = self._objective_kwargs(y)
        seed_everything(self.seed)  # before the head is created: the seed fixes its init
        self.tokenizer_ = load_tokenizer(self.model_name)
        check_pad_token(self.tokenizer_)
        self.model_ = self._new_model()
        if self.window.chunked and self.space_.kind == "multi":
            raise ConfigError(
                f"model.long_text={self.window.long_text}: label sets are read whole or "
                "head_tail; expected truncate or head_tail"
            )
        biased = self._start_at_label_priors(self.model_, y, HEAD_PREFIXES)
        val_items, dropped = None, 0
        if eval_set is not None:
            val_texts, val_y = self.space_.known(*eval_set)
            dropped = len(eval_set[0]) - len(val_texts)
            val_items, owner = self._items(val_texts, val_y)
            if self.window.chunked and val_items:  # early stopping on pooled, per-text scores
                objective["metrics_fn"] = pooled_metrics(owner, self.window.long_text)
        result = fit_classifier(
            self.model_,
            self._items(texts, y)[0],
            collate=functools.partial(pad_collate, pad_id=self.tokenizer_.pad_token_id),
            settings=self.loop_settings(),
            eval_items=val_items,
            work_dir=work_dir,
            head_prefixes=HEAD_PREFIXES,
            **objective,
        )
        self.history_, self.info_ = result.history, {**result.info, "val_rows_unseen": dropped}
        if self.space_.kind == "multi":
            self.info_["prior_start"] = "bias" if biased else "none"

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
        if self.space_.kind == "multi":  # transformers then applies a sigmoid, not a softmax
            model.config.problem_type = "multi_label_classification"
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

    def _raw_proba(self, texts) -> np.ndarray:
        """Softmax of whole texts' logits: a long text's windows pooled as ``window`` says."""
        from tailtune.training.objective import softmax

        texts = list(texts)
        seqs, owner = encode_windows(self.tokenizer_, texts, self.max_length, self.window)
        logits = pool_rows(self._logits(seqs), owner, len(texts), self.window.long_text)
        if self.space_.kind == "multi":  # one sigmoid per label
            from tailtune.backends._sets import sigmoid

            return sigmoid(logits)
        return softmax(logits)

    def _checkpoint_module(self):
        return self.model_

    # -- persistence -------------------------------------------------------------------------

    def _state(self, path: Path) -> dict:
        """The transformers model and its tokenizer in ``model/``."""
        self.model_.save_pretrained(path / "model")
        self.tokenizer_.save_pretrained(path / "model")
        return {}

    def _restore(self, path: Path, state: dict, device: str = "auto") -> None:
        """Read ``model/`` (on CUDA when available, unless ``device='cpu'``)."""
        torch = require("torch")
        transformers = require("transformers")
        quiet_transformers()
        self.tokenizer_ = transformers.AutoTokenizer.from_pretrained(path / "model")
        self.model_ = transformers.AutoModelForSequenceClassification.from_pretrained(
            path / "model", dtype=torch.float32, local_files_only=True
        ).to(pick_device(device))
        self.model_.eval()

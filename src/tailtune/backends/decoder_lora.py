"""Decoder LLMs (Qwen, Llama, Gemma, GPT-2, SmolLM) — or encoders — with LoRA and a trained head.

``AutoModelForSequenceClassification`` on a causal LM, PEFT LoRA
(Hu et al. 2021; rank 16, alpha 32, attention or all-linear targets; :class:`LoraSettings`) with the head trained in
full via ``modules_to_save``; on CUDA optionally QLoRA (Dettmers et al. 2023: NF4 4-bit base,
bf16 compute, 8-bit AdamW, gradient checkpointing). Training runs through the shared loop
:func:`tailtune.training.fit_classifier`; model building lives in ``_lora_model``.

Saved as ``adapter/`` (LoRA weights *and* the head, PEFT format) plus ``tokenizer/``; the base
weights are re-read from ``model_name`` at load. ``lora.merge_on_save`` instead writes the merged
model to ``model/`` for export (no PEFT needed to serve it).

Label sets: the head gives one sigmoid per label (``problem_type: multi_label_classification``,
so a merged model's 🤗 ``pipeline`` applies a sigmoid too), trained under ``objective.set_loss``
and early-stopped on the macro F1 of the thresholds the saved model will use.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune.backends import _lora_model as lm
from tailtune.backends._hf import pick_device, quiet_transformers, seed_everything
from tailtune.backends._neural import NeuralBackend, output_layers
from tailtune.backends.lora import LoraSettings
from tailtune.errors import ConfigError
from tailtune.objectives.settings import ObjectiveSettings
from tailtune.training.settings import TrainSettings

__all__ = ["DecoderLoraBackend", "LoraSettings"]

# the most the pooled states' projections on their mean may vary (relative std) for a shift of
# the head's rows along that mean to act as the bias a decoder's head lacks
_MAX_STEER_SPREAD = 0.25


class DecoderLoraBackend(NeuralBackend):
    """LoRA adapters plus a fully trained classification head on a pretrained transformer."""

    name = "decoder_lora"
    takes_sets = True
    settings = {"objective": ObjectiveSettings, "train": TrainSettings, "lora": LoraSettings}
    prefixes = {"lora": "lora_"}  # flat keywords: lora_r=8 is lora=LoraSettings(r=8)

    def __init__(
        self,
        model_name: str | None = None,
        max_length: int = 128,
        objective: ObjectiveSettings | None = None,
        train: TrainSettings | None = None,
        lora: LoraSettings | None = None,
        padding_side: str = "right",
        seed: int = 42,
    ):
        self._store(locals())

    def _check_params(self) -> None:
        super()._check_params()
        if self.padding_side not in ("left", "right"):
            raise ConfigError(f"padding_side: got {self.padding_side!r}, expected left or right")
        lm.check_cuda_options(self.lora.quantization, self.train.optimizer)

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        """Train LoRA + head on ``texts``/``labels``; early-stop on ``eval_set`` macro F1."""
        from tailtune.training import fit_classifier

        y = self.space_.encode(labels)
        objective = self._objective_kwargs(y)  # label sets: one sigmoid per label
        seed_everything(self.seed)  # before the head and the LoRA matrices are created
        self._build(train=True)
        prior_start = None
        if np.ndim(y) == 2:  # label sets: start at the labels' priors, not at log 2 each
            prior_start = "bias"
            if not self._start_at_label_priors(self.model_, y, tuple(self.heads_)):
                prior_start = self._steer_head_to_label_priors(texts, y)
        val_items, dropped = None, 0
        if eval_set is not None:
            val_texts, val_y = self.space_.known(*eval_set)
            dropped = len(eval_set[0]) - len(val_texts)
            val_items = self._items(val_texts, val_y)
        # gradient checkpointing was set up in _build (it must precede the PEFT wrap)
        settings = dataclasses.replace(
            self.loop_settings(), gradient_checkpointing=False, optimizer="adamw"
        )
        result = fit_classifier(
            self.model_,
            self._items(texts, y),
            collate=self._collate,
            settings=settings,
            eval_items=val_items,
            work_dir=work_dir,
            head_prefixes=tuple(f"base_model.model.{h}" for h in self.heads_),
            **objective,
            **self._optimizer_kwargs(fit_classifier),
        )
        self.history_ = result.history
        self.info_ = {**result.info, **self._lora_info(), "val_rows_unseen": dropped}
        if prior_start is not None:
            self.info_["prior_start"] = prior_start

    def _steer_head_to_label_priors(self, texts, y, n: int = 64) -> str:
        """Label sets on a head without a bias (a decoder's ``score``): move each label's row
        along the mean pooled state h̄ of ``n`` training texts, ``w_j += (b_j − w_j·h̄) h̄ / ‖h̄‖²``,
        so that a text at h̄ starts at label j's prior log-odds b_j. A decoder's last-token
        states share a large common direction, so this acts as the bias the layer lacks (the
        prior start of Lin et al. 2017); without it, a fine-tuning learning rate spends its
        first hundreds of steps moving every label from log 2 down to its prior. Returns
        ``steered``, or ``none`` where the states are too spread for a shift to act as a bias."""
        torch = require("torch")
        target = torch.as_tensor(self._prior_logits(y), dtype=torch.float32)
        heads = output_layers(self.model_, y.shape[1], tuple(self.heads_))
        if not heads:
            return "none"
        seen = []
        hooks = [m.register_forward_hook(lambda _m, i, out: seen.append((i[0], out)))
                 for m in heads]  # fmt: skip
        pick = np.random.default_rng(self.seed).permutation(len(y))[:n]
        texts = list(texts)
        batch = self._collate(self._items([texts[i] for i in pick], y[pick]))
        batch.pop("labels", None)
        device = next(self.model_.parameters()).device
        was_training = self.model_.training
        self.model_.eval()
        try:
            with torch.no_grad():
                pooled = self.model_(**{k_: v.to(device) for k_, v in batch.items()}).logits
        finally:
            for h in hooks:
                h.remove()
            self.model_.train(was_training)
        if not seen:
            return "none"
        x, out = (t.float() for t in seen[-1])  # every position's state and logits
        # the position the model pooled: the one whose logits it returned
        pos = (out - pooled.float()[:, None, :]).abs().sum(-1).argmin(dim=1)
        h = x[torch.arange(len(pos)), pos]
        hbar = h.mean(dim=0)
        # A text's shifted logit is b_j + shift_j · (h·h̄/‖h̄‖² − 1): a bias only where the
        # states' projections on h̄ hardly vary (a pretrained decoder's: about 0.15 for
        # SmolLM2). Where they vary as much as a random model's (about 1), the shift would add
        # as much noise as signal: leave the head as it is.
        spread = float(((h @ hbar) / hbar.dot(hbar).clamp_min(1e-12)).std())
        if not spread <= _MAX_STEER_SPREAD:
            return "none"
        with torch.no_grad():
            for m in heads:
                w = m.weight.float()
                shift = (target.to(w.device) - w @ hbar) / hbar.dot(hbar).clamp_min(1e-12)
                m.weight.copy_((w + shift[:, None] * hbar[None, :]).to(m.weight.dtype))
        return "steered"

    def _build(self, train: bool, adapter_dir: Path | None = None) -> None:
        """Tokenizer, base model (quantized if asked), LoRA wrap (new, or loaded from disk)."""
        peft = require("peft")
        quiet_transformers()
        lora, train_settings = self.lora, self.train
        source, gguf = lm.resolve_source(self.model_name, lora.gguf_file)
        self.tokenizer_ = lm.load_tokenizer(source, gguf)
        quantized = lora.quantization != "none"
        bf16 = train_settings.precision == "bf16" and _cuda()
        dtype = "bfloat16" if quantized or bf16 else "float32"
        base = lm.load_base_model(
            source,
            gguf,
            len(self.classes_),
            self.tokenizer_.pad_token_id,
            lora.quantization,
            dtype,
        )
        base.config.id2label = {i: str(c) for i, c in enumerate(self.classes_)}
        base.config.label2id = {str(c): i for i, c in enumerate(self.classes_)}
        if getattr(self, "kind_", "single") == "multi":  # saved with the config: a sigmoid head
            base.config.problem_type = "multi_label_classification"
        self.heads_ = lm.head_modules(base)
        # decoders pool the last token (padding side matters); encoders pool [CLS]: pad right
        self.side_ = self.padding_side if "score" in self.heads_ else "right"
        if adapter_dir is not None:
            self.model_ = peft.PeftModel.from_pretrained(base, str(adapter_dir))
            self.targets_ = list(self.model_.peft_config["default"].target_modules)
        else:
            self.model_, self.targets_ = lm.wrap_lora(
                base,
                lora,
                quantized=quantized,
                gradient_checkpointing=bool(train_settings.gradient_checkpointing) and train,
            )
        if not quantized:  # bitsandbytes placed a quantized model on the GPU already
            self.model_.to(pick_device(train_settings.device))

    def _optimizer_kwargs(self, fit_fn) -> dict:
        """8-bit AdamW (bitsandbytes) when asked, through the loop's optimizer hook."""
        if self.train.optimizer != "adamw_8bit":
            return {}
        bnb = require("bitsandbytes", "train.optimizer=adamw_8bit")
        if "optimizer_cls" not in inspect.signature(fit_fn).parameters:
            raise ConfigError(
                "train.optimizer=adamw_8bit: this version of the training loop has no "
                "optimizer_cls hook; use train.optimizer=adamw"
            )
        return {"optimizer_cls": bnb.optim.AdamW8bit}

    def _lora_info(self) -> dict:
        """LoRA figures for ``info_``: what was wrapped and how much of the model trains."""
        trainable = sum(p.numel() for p in self.model_.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.model_.parameters())
        return {
            "lora_modules": len(self.targets_),
            "lora_targets": sorted({t.rsplit(".", 1)[-1] for t in self.targets_}),
            "trainable_share": round(trainable / max(total, 1), 6),
            "total_params": int(total),
            "quantization": self.lora.quantization,
            "padding_side": self.side_,
        }

    def _items(self, texts, y) -> list[dict]:
        from tailtune.training import encode_texts

        ids = encode_texts(self.tokenizer_, list(texts), self.max_length)
        if np.ndim(y) == 2:  # label sets: a 0/1 vector per text
            return [{"input_ids": i, "labels": row} for i, row in zip(ids, y, strict=True)]
        return [{"input_ids": i, "labels": int(lab)} for i, lab in zip(ids, y, strict=True)]

    def _collate(self, items) -> dict:
        return lm.collate_batch(items, self.tokenizer_.pad_token_id, self.side_)

    # -- prediction --------------------------------------------------------------------------

    def _logits(self, token_ids: list[list[int]]) -> np.ndarray:
        """Raw logits (n, K) in float32, batched by length."""
        from tailtune.training import predict_logits

        items = [{"input_ids": ids} for ids in token_ids]
        logits = predict_logits(
            self.model_,
            items,
            collate=self._collate,
            batch_size=self.train.eval_batch_size,
            device=next(self.model_.parameters()).device,
            lengths=[len(ids) for ids in token_ids],
        )
        return logits.numpy()

    def decision_function(self, texts) -> np.ndarray:
        """Raw logits (n, K) of ``texts`` (no softmax, no post-hoc adjustment)."""
        from tailtune.training import encode_texts

        return self._logits(encode_texts(self.tokenizer_, list(texts), self.max_length))

    def _raw_proba(self, texts) -> np.ndarray:
        from tailtune.training.objective import softmax

        if getattr(self, "kind_", "single") == "multi":  # one sigmoid per label
            from tailtune.backends._sets import sigmoid

            return sigmoid(self.decision_function(texts))
        return softmax(self.decision_function(texts))

    def _checkpoint_module(self):
        # checkpoints hold the PEFT-wrapped model's tensors; a run saved merged is re-wrapped
        # (base model from model_name + a fresh adapter) so that their names match
        if not hasattr(self.model_, "peft_config"):
            self._build(train=False)
        return self.model_

    # -- persistence -------------------------------------------------------------------------

    def _state(self, path: Path) -> dict:
        """The tokenizer, and either the adapter with the head (``adapter/``) or the merged
        model (``model/``)."""
        self.tokenizer_.save_pretrained(path / "tokenizer")
        if self.lora.merge_on_save and self.lora.quantization == "none":
            merged = self.model_.merge_and_unload()  # adapter folded into the base weights
            merged.save_pretrained(path / "model")
            self.model_ = merged
        else:
            self.model_.save_pretrained(path / "adapter")
        return {"heads": self.heads_, "targets": self.targets_}

    def _restore(self, path: Path, state: dict, **options) -> None:
        """Rebuild the model: base from ``model_name`` + saved adapter and head, or the merged
        model; the logits equal those before saving."""
        if (path / "model").is_dir():
            self._load_merged(path, state)
        else:
            self._build(train=False, adapter_dir=path / "adapter")
            self.tokenizer_ = require("transformers").AutoTokenizer.from_pretrained(
                path / "tokenizer"
            )
        self.model_.eval()

    def _load_merged(self, path: Path, state: dict) -> None:
        torch = require("torch")
        transformers = require("transformers")
        quiet_transformers()
        self.tokenizer_ = transformers.AutoTokenizer.from_pretrained(path / "tokenizer")
        self.model_ = transformers.AutoModelForSequenceClassification.from_pretrained(
            path / "model", dtype=torch.float32, local_files_only=True
        ).to(pick_device(self.train.device))
        self.heads_, self.targets_ = state["heads"], state["targets"]
        self.side_ = self.padding_side if "score" in self.heads_ else "right"


def _cuda() -> bool:
    return bool(require("torch").cuda.is_available())

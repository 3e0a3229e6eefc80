"""Building a LoRA sequence classifier: tokenizer, padding, quantization, PEFT wrapping.

Decoder LLMs pool the *last* token for classification. 🤗's ``*ForSequenceClassification``
finds it as the rightmost token that is not ``config.pad_token_id``, so a pad token must exist
(GPT-2 and Llama ship none: EOS stands in, the usual recipe) and be written into the config.
Either padding side then reads the real last token; with left padding the position ids are
rebuilt from the attention mask (``cumsum - 1``) so that absolute position embeddings (GPT-2)
see the same positions as with right padding — the two give the same logits (tested).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailtune._extras import require
from tailtune.backends._hf import SMOLLM2_NAMES, pretrained_tokenizer
from tailtune.backends._hf import resolve_source as _hf_resolve_source
from tailtune.backends._lora_targets import head_modules, resolve_targets
from tailtune.backends.lora import LoraSettings
from tailtune.errors import ConfigError

__all__ = [
    "SMOLLM2_NAMES",
    "resolve_source",
    "check_cuda_options",
    "load_tokenizer",
    "load_base_model",
    "wrap_lora",
    "collate_batch",
]


def resolve_source(model_name: str | None, gguf_file: str | None = None) -> tuple[str, str | None]:
    """``(directory or hub id, gguf file name or None)``: :func:`tailtune.backends._hf.resolve_source`."""
    return _hf_resolve_source(model_name, gguf_file)


def check_cuda_options(quantization: str, optimizer: str) -> None:
    """QLoRA / 8-bit loading and the 8-bit optimizer need CUDA (bitsandbytes kernels)."""
    wants = [f"model.lora.quantization={quantization}"] if quantization != "none" else []
    wants += ["train.optimizer=adamw_8bit"] if optimizer == "adamw_8bit" else []
    if not wants:
        return
    torch = require("torch")
    if not torch.cuda.is_available():
        raise ConfigError(
            f"{' and '.join(wants)} {'need' if len(wants) > 1 else 'needs'} a CUDA GPU "
            "(bitsandbytes); none is available here — "
            "use model.lora.quantization=none and train.optimizer=adamw on CPU"
        )
    require("bitsandbytes", "4-bit/8-bit LoRA")


def load_tokenizer(source: str, gguf_file: str | None):
    """The model's tokenizer with a pad token (EOS, else UNK, when it ships none); a decoder
    without any of the three cannot pad a batch, so that is a ConfigError here."""
    tok = pretrained_tokenizer(source, gguf_file)
    if tok.pad_token is None:
        raise ConfigError(f"model.name: the tokenizer of '{source}' has no pad, EOS or UNK token")
    return tok


def load_base_model(
    source: str,
    gguf_file: str | None,
    num_labels: int,
    pad_token_id: int,
    quantization: str = "none",
    dtype: str = "float32",
):
    """``AutoModelForSequenceClassification`` with ``num_labels`` outputs and the pad id set.

    ``quantization`` 4bit is QLoRA (Dettmers et al. 2023): NF4 weights, double quantization,
    bf16 compute; the head stays unquantized (``llm_int8_skip_modules``) so it trains in full.
    """
    torch = require("torch")
    transformers = require("transformers")
    kwargs: dict[str, Any] = {"num_labels": num_labels, "dtype": getattr(torch, dtype)}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    if quantization != "none":
        skip = ["score", "classifier"]
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=quantization == "4bit",
            load_in_8bit=quantization == "8bit",
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=skip,
        )
        kwargs["device_map"] = {"": 0}
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            source, local_files_only=Path(source).is_dir(), **kwargs
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model.name: cannot load '{source}' for classification ({exc})"
        ) from None
    model.config.pad_token_id = pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = pad_token_id
    return model


def wrap_lora(model, lora: LoraSettings, *, quantized: bool, gradient_checkpointing: bool):
    """Wrap ``model`` with PEFT LoRA (``task_type=SEQ_CLS``) of rank ``lora.r``, scale
    ``lora.alpha``, ``lora.dropout`` and ``lora.bias`` on ``lora.targets`` (Hu et al. 2021); the
    head is trained in full and saved with the adapter through ``modules_to_save``. Returns
    ``(peft_model, target_names)``."""
    peft = require("peft")
    heads = head_modules(model)
    if not heads:
        raise ConfigError(
            f"model.name: {type(model).__name__} has no 'score' or 'classifier' head for LoRA"
        )
    names = resolve_targets(model, lora.targets)
    if quantized:
        model = peft.prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=gradient_checkpointing
        )
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()  # frozen embeddings: checkpointed blocks need a grad input
    config = peft.LoraConfig(
        task_type=peft.TaskType.SEQ_CLS,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        bias=lora.bias,
        target_modules=names,
        modules_to_save=heads,
    )
    wrapped = peft.get_peft_model(model, config)
    for param in wrapped.parameters():
        if param.requires_grad and param.dtype != require("torch").float32:
            param.data = param.data.float()  # AdamW state in fp32; autocast does the bf16 math
    return wrapped, names


def collate_batch(items, pad_id: int, side: str = "right") -> dict:
    """Pad ``{"input_ids", "labels"?}`` items to the batch's longest, on ``side``.

    With left padding, ``position_ids`` count real tokens only, so the result does not depend
    on the padding side.
    """
    torch = require("torch")
    width = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, it in enumerate(items):
        n = len(it["input_ids"])
        cols = slice(width - n, width) if side == "left" else slice(0, n)
        ids[row, cols] = torch.as_tensor(it["input_ids"], dtype=torch.long)
        mask[row, cols] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    if side == "left":
        batch["position_ids"] = (mask.cumsum(dim=1) - 1).clamp(min=0)
    if "labels" in items[0]:
        from tailtune.training.batching import collate_labels

        batch["labels"] = collate_labels(torch, [it["labels"] for it in items])
    return batch

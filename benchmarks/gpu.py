"""The CUDA path, once, through tailtune's own loop: bf16, gradient checkpointing, LoRA and QLoRA.

    python benchmarks/gpu.py [--steps 30]

Models are built from their configs with random weights (nothing is downloaded), so the figures
are speed and memory only, not quality:

1. encoder: a ModernBERT-base-sized model (22 layers, hidden 768), full fine-tune, bf16 autocast,
   gradient checkpointing, max length 256, batch 32.
2. decoder: a Qwen2-architecture model of about 0.5B parameters (24 layers, hidden 896, GQA 14/2)
   with LoRA r=16 on attention in bf16, and the same with 4-bit NF4 QLoRA.

Prints examples/s, tokens/s and peak GPU memory (torch.cuda.max_memory_allocated) per case.
Status: written for the GPU throughput and LoRA memory check; not yet run, since no GPU was lent to the
session that wrote it. Run it where CUDA is available and quote its output.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch

from tailtune.backends._lora_model import collate_batch, load_base_model, wrap_lora
from tailtune.backends.lora import LoraSettings
from tailtune.objectives.losses import build_loss
from tailtune.training.loop import fit_classifier
from tailtune.training.settings import TrainSettings


def _items(n: int, length: int, vocab: int, k: int, seed: int, fixed: bool) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        size = length if fixed else int(rng.integers(length // 4, length + 1))
        out.append(
            {"input_ids": rng.integers(5, vocab, size).tolist(), "labels": int(rng.integers(k))}
        )
    return out


def _settings(steps: int, batch: int, gc: bool) -> TrainSettings:
    return TrainSettings(
        max_steps=steps, batch_size=batch, lr=1e-4, precision="bf16", gradient_checkpointing=gc,
        device="cuda", patience=None, progress=False, not_learning_steps=10**9,
    )  # fmt: skip


def _run(name: str, model, items, collate, k: int, steps: int, batch: int, gc: bool) -> None:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    result = fit_classifier(
        model, items, collate=collate, loss_fn=build_loss("ce"), num_classes=k,
        settings=_settings(steps, batch, gc),
    )  # fmt: skip
    info = result.info
    peak = torch.cuda.max_memory_allocated() / 1024**3
    print(
        f"{name}: {info['examples_per_s']:.1f} examples/s, {info['tokens_per_s']:,.0f} tokens/s, "
        f"{info['time_per_step_s'] * 1000:.0f} ms/step, peak GPU memory {peak:.2f} GiB, "
        f"trainable {info['trainable_params']:,} ({info['steps']} steps, {info['device']}, "
        f"{info['precision']})",
        flush=True,
    )


def encoder_case(steps: int) -> None:
    from transformers import AutoModelForSequenceClassification, ModernBertConfig

    k = 113
    cfg = ModernBertConfig(
        hidden_size=768, num_hidden_layers=22, num_attention_heads=12, intermediate_size=1152,
        vocab_size=50368, num_labels=k, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    items = _items(32 * (steps + 2), 256, cfg.vocab_size, k, 0, fixed=True)
    print(f"encoder: ModernBERT-base-sized, {n_params / 1e6:.1f}M parameters, length 256, batch 32")
    _run("encoder bf16 + gradient checkpointing", model, items,
         lambda b: collate_batch(b, 0), k, steps, 32, True)  # fmt: skip


def decoder_cases(steps: int) -> None:
    from transformers import AutoModelForSequenceClassification, Qwen2Config

    k = 4
    cfg = Qwen2Config(
        hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=4096,
        tie_word_embeddings=True, num_labels=k, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    base = AutoModelForSequenceClassification.from_config(cfg).to(torch.bfloat16)
    n_params = sum(p.numel() for p in base.parameters())
    with tempfile.TemporaryDirectory() as tmp:
        base.save_pretrained(tmp)
        del base
        items = _items(16 * (steps + 2), 128, cfg.vocab_size, k, 1, fixed=False)
        print(
            f"decoder: Qwen2-architecture, {n_params / 1e6:.0f}M parameters, length <= 128, batch 16"
        )
        for quant in ("none", "4bit"):
            model = load_base_model(tmp, None, k, 0, quantization=quant, dtype="bfloat16")
            # LoRA r=16, alpha=32, dropout 0.05 on the attention projections (the defaults)
            lora = LoraSettings(r=16, alpha=32, dropout=0.05, bias="none", targets="attention")
            model, _ = wrap_lora(
                model, lora, quantized=quant != "none", gradient_checkpointing=True
            )
            label = "LoRA bf16" if quant == "none" else "QLoRA 4-bit NF4"
            _run(f"decoder {label} + gradient checkpointing", model, items,
                 lambda b: collate_batch(b, 0), k, steps, 16, False)  # fmt: skip
            del model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--only", choices=["encoder", "decoder"], default=None)
    args = ap.parse_args()
    assert torch.cuda.is_available(), "this benchmark needs a CUDA GPU"
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    if args.only in (None, "encoder"):
        encoder_case(args.steps)
    if args.only in (None, "decoder"):
        decoder_cases(args.steps)


if __name__ == "__main__":
    main()

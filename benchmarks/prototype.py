"""Class prototypes vs a k-NN vote over frozen MiniLM embeddings, on the real test splits.

    python benchmarks/prototype.py --datasets atis,banking77 [--out benchmarks/RESULTS.md]

Both rules are tailtune's ``prototype`` backend over the same cached embeddings (MiniLM,
mean pooling, the max lengths of benchmarks/quality.py), trained on the full training split and
scored on the test split with ``tailtune.evaluation.compute_metrics`` (tiers as quality.py sets
them). Nothing is tuned: k (1 and 10) and the temperature (0.05) are the backend's defaults or
round numbers, fixed before any test figure was seen. Seconds include embedding the training
texts unless the cache already held them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import MAX_LENGTH, data_root, load_dataset, tier_thresholds, write_section  # noqa: E402

RULES = (("centroid", {}), ("knn k=1", {"rule": "knn", "k": 1}), ("knn k=10", {"rule": "knn"}))


def run(name: str) -> list[dict]:
    """Fit and score every rule on one data set; one row per rule."""
    from tailtune.backends.prototype import PrototypeBackend
    from tailtune.evaluation import compute_metrics

    train, test = load_dataset(name, data_root())
    X, y = train["text"].tolist(), train["label"].astype(str).to_numpy()
    Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()
    counts = dict(zip(*np.unique(y, return_counts=True), strict=True))
    head_min, tail_max = tier_thresholds(name)
    print(f"\n== {name}: train {len(y)} ({len(counts)} classes), test {len(yt)}", flush=True)
    rows = []
    for label, kw in RULES:
        t0 = time.perf_counter()
        model = PrototypeBackend(model_name="minilm", max_length=MAX_LENGTH[name], **kw)
        pred = model.fit(X, y).predict(Xt)
        seconds = time.perf_counter() - t0
        m = compute_metrics(yt, pred, train_counts=counts, head_min=head_min, tail_max=tail_max)
        tiers = m.get("tiers", {})
        row = {
            "rule": label,
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            **{t: tiers.get(t, {}).get("mean_f1") for t in ("head", "mid", "tail")},
            "seconds": seconds,
        }
        rows.append(row)
        print(_line(row), flush=True)
    return rows


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _line(r: dict) -> str:
    tiers = " ".join(f"{t} {_f(r[t])}" for t in ("head", "mid", "tail"))
    return (
        f"prototype {r['rule']:<10} acc {r['accuracy']:.3f}  mF1 {r['macro_f1']:.3f}  "
        f"{tiers}  {r['seconds']:.1f}s"
    )


def table(rows: list[dict]) -> str:
    head = "| rule | accuracy | macro F1 | head F1 | mid F1 | tail F1 | seconds |\n"
    head += "|---|---|---|---|---|---|---|\n"
    body = "".join(
        f"| {r['rule']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {_f(r['head'])} | "
        f"{_f(r['mid'])} | {_f(r['tail'])} | {r['seconds']:.1f} |\n"
        for r in rows
    )
    return head + body


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="atis,banking77")
    ap.add_argument("--out", default=None, help="Markdown file to write a section of")
    args = ap.parse_args(argv)
    cmd = "python benchmarks/prototype.py " + " ".join(sys.argv[1:] if argv is None else argv)
    for name in (n.strip() for n in args.datasets.split(",")):
        rows = run(name)
        if args.out:
            section = (
                f"## {name}: prototype\n\nProduced by `{cmd}` on "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Test split; MiniLM "
                f"embeddings (max length {MAX_LENGTH[name]}), nothing tuned.\n\n{table(rows)}\n"
            )
            write_section(Path(args.out), f"{name}: prototype", section)


if __name__ == "__main__":
    main()

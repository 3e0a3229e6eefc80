"""Choosing the body-tuning settings of the cpu-longtail recipe without touching a test split.

    python benchmarks/body_tuning_dev.py goemotions 0                 # the recipe, frozen body
    python benchmarks/body_tuning_dev.py goemotions 400 --lr 2e-5
    python benchmarks/body_tuning_dev.py goemotions 400 --lr 1e-4
    python benchmarks/body_tuning_dev.py cfpb 400 --lr 1e-4 --tokens 300000

The recipe (its ensemble of TF-IDF and the MiniLM head, blend weights and τ chosen on its own
10% carve) with the head's body tuned for ``steps`` steps, fitted on the training split and
scored on a development split: GoEmotions' own ``dev.tsv``; for the other sets 15% of the
training split held out by a fixed permutation (seed 0). The test splits are never read. Prints
one JSON line: the blend's and the head member's development macro F1, the carve figures the
ensemble chose on, and what the tuning did; ``--log`` appends it to a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import data_root, load_dataset, with_label_names  # noqa: E402


def dev_split(name: str):
    """(training texts, training labels, development frame) of one data set."""
    from tailtune.data import load_table

    train, _ = load_dataset(name, data_root())
    if name == "goemotions":
        kw = {"format": "tsv", "column_names": ["text", "labels", "id"], "text_columns": ["text"],
              "label_columns": ["labels"], "label_names": data_root() / "goemotions/labels.txt",
              "multi_label_separator": ",", "multi_label": "single"}  # fmt: skip
        dev = load_table(data_root() / "goemotions/dev.tsv", **kw).frame
    else:
        order = np.random.default_rng(0).permutation(len(train))
        cut = int(len(train) * 0.85)
        dev, train = train.iloc[order[cut:]], train.iloc[order[:cut]]
    return train["text"].tolist(), train["label"].astype(str).to_numpy(), dev


def main(argv=None) -> None:
    """Fit the recipe with the given body tuning and print its development figures."""
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path
    from tailtune.evaluation import compute_metrics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", choices=["atis", "banking77", "cfpb", "goemotions"])
    ap.add_argument("steps", type=int, help="model.embedding.body_steps (0: a frozen body)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--tokens", type=int, default=None, help="model.embedding.body_tokens")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log", default=None, help="a file to append the JSON line to")
    args = ap.parse_args(argv)
    sets = [f"train.num_threads={args.threads}", f"model.embedding.body_steps={args.steps}",
            f"model.embedding.body_lr={args.lr}",
            f"model.embedding.body_tokens={'null' if args.tokens is None else args.tokens}"]  # fmt: skip
    cfg = load_config(recipe_path("cpu-longtail"), sets)
    x, y, dev = dev_split(args.dataset)
    t0 = time.perf_counter()
    ens = build_backend(cfg)
    ens.fit(*with_label_names(x, y, cfg.objective.label_name_examples))
    fit_s = time.perf_counter() - t0
    gold = dev["label"].astype(str).to_numpy()
    texts = dev["text"].tolist()
    head = ens.members_[1]
    info = ens.info_
    out = {
        "data": args.dataset, "steps": args.steps, "lr": args.lr, "tokens": args.tokens,
        "dev_macro_f1": round(compute_metrics(gold, ens.predict(texts))["macro_f1"], 4),
        "dev_head_member_f1": round(compute_metrics(gold, head.predict(texts))["macro_f1"], 4),
        "carve_f1": info.get("tune_macro_f1"), "members_carve": info.get("member_tune_macro_f1"),
        "weights": info.get("weights"), "tau": info.get("posthoc_tau"), "fit_s": round(fit_s),
        "body": {k: v for k, v in (head.info_ or {}).items() if k.startswith("body")},
    }  # fmt: skip
    line = json.dumps(out)
    print(line)
    if args.log:
        with open(args.log, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()

"""Does the labelling plan of ``tailtune advise`` predict what new labels buy? A held-back test.

    python benchmarks/advise.py --datasets cfpb,goemotions,banking77 [--out advise-results.md]

For each real data set (../shared/data, never the holdout):

1. the labelled training pool is split in half, stratified: half A is "what the team has",
   half H is "what labelling would bring" (its per-class counts cap what a plan can ask for);
2. ``advise`` runs on a config that trains on A (fractions 25/50/75/100 %, three seeds) and is
   scored on a fixed validation file, with a budget of ``--budget-share`` × |A| new examples;
3. the plan's allocation, and the naive ones (uniform per class, proportional to frequency, all
   to the rarest), are each realised by adding that many held-back examples of each class from H
   (a seeded draw) to A, retrained with the same config and seed as advise's full-data run, and
   scored on the same validation file;
4. measured gain = macro F1 after − macro F1 of advise's full-data run (same seed, same
   validation rows); it is compared with the predicted gain and its 95% interval, for the whole
   allocation and per class.

Backend: TF-IDF word 1-2-grams + LinearSVC (tailtune's ``tfidf`` defaults), the fast CPU
backend, so that a data set takes minutes on a shared CPU. Validation: Banking77's test.csv,
GoEmotions' dev.tsv (single-label rows), CFPB a stratified 20% carved from the two samples.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("cfpb", "goemotions", "banking77")
TIERS = {"cfpb": (500, 20), "goemotions": (2000, 100), "banking77": (2000, 100)}


def data_root() -> Path:
    """``$TAILTUNE_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("TAILTUNE_SHARED_DATA") or REPO / ".." / "shared" / "data")


def load_pool(name: str, root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training pool, validation) frames with ``text, label`` columns."""
    from tailtune.data import load_table
    from tailtune.data.clean import clean
    from tailtune.data.split import split_frame

    if name == "banking77":
        kw = {"text_columns": ["text"], "label_columns": ["category"]}
        pool, val = (load_table(root / f"banking77/{s}.csv", **kw).frame for s in ("train", "test"))
    elif name == "goemotions":
        kw = {"format": "tsv", "column_names": ["text", "labels", "id"], "text_columns": ["text"],
              "label_columns": ["labels"], "label_names": root / "goemotions/labels.txt",
              "multi_label_separator": ",", "multi_label": "single"}  # fmt: skip
        pool, val = (load_table(root / f"goemotions/{s}.tsv", **kw).frame for s in ("train", "dev"))
    elif name == "cfpb":
        files = [root / "cfpb/bdm_complaints_sample_2015-2020.csv",
                 root / "cfpb/payday_personal_loan_narratives_2023.csv"]  # fmt: skip
        frame = load_table(files, skip_rows=[2, 0], text_columns=["Consumer complaint narrative"],
                           label_columns=["Issue"]).frame  # fmt: skip
        frame, _ = clean(frame, min_class_size=2)
        parts = split_frame(frame, val=0.2, test=0.0, seed=42)
        pool, val = parts.train, parts.val
    else:
        raise SystemExit(f"--datasets: unknown data set '{name}', expected one of {DATASETS}")
    val = val[val["label"].isin(set(pool["label"]))]  # a class never trained on cannot be planned
    return pool[["text", "label"]].reset_index(drop=True), val[["text", "label"]].reset_index(
        drop=True
    )


def halves(pool: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified halves (every class keeps an example in A)."""
    from tailtune.data.split import split_frame

    parts = split_frame(pool.assign(id="", line=0), val=0.5, test=0.0, seed=seed)
    return parts.train[["text", "label"]], parts.val[["text", "label"]]


def config(name: str, work: Path, train_file: Path, val_file: Path) -> dict:
    head_min, tail_max = TIERS[name]
    return {
        "name": f"{name}-half", "seed": 1, "runs_dir": str(work / "runs"),
        "data": {"path": str(train_file), "val_path": str(val_file), "format": "parquet"},
        "model": {"backend": "tfidf"}, "eval": {"head_min": head_min, "tail_max": tail_max},
    }  # fmt: skip


def realise(a: pd.DataFrame, held: pd.DataFrame, alloc: dict[str, int], seed: int) -> pd.DataFrame:
    """A plus ``alloc[label]`` held-back examples of each class (a seeded draw from H)."""
    rng = np.random.default_rng(seed)
    parts = [a]
    for label, k in sorted(alloc.items()):
        if k <= 0:
            continue
        rows = np.flatnonzero(held["label"].to_numpy() == label)
        if k > len(rows):
            raise SystemExit(
                f"allocation asks {k} of '{label}', the held-back half has {len(rows)}"
            )
        parts.append(held.iloc[rng.choice(rows, k, replace=False)])
    return pd.concat(parts, ignore_index=True)


def train_scored(raw: dict, frame: pd.DataFrame, path: Path, run_name: str):
    """Train the config on ``frame`` and return its run (validation scored); a run of the same
    rows already trained by an earlier call is reused (a re-run re-prices, it does not retrain)."""
    import hashlib

    from tailtune.config import config_from_dict
    from tailtune.runs import read_run
    from tailtune.workflow import train

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values).hexdigest()
    run_name = f"{run_name}-{digest[:10]}"
    done = sorted(Path(raw["runs_dir"]).glob(f"{run_name}-2*"))
    if done and (done[-1] / "metrics.json").is_file():
        return read_run(done[-1])
    frame.to_parquet(path, index=False)
    cfg = config_from_dict({**raw, "data": {**raw["data"], "path": str(path)}})
    return read_run(train(cfg, run_name=run_name, runs_dir=raw["runs_dir"]))


def per_class_f1(run) -> dict[str, float]:
    pc = run.per_class_for("val")
    return dict(zip(pc["label"].astype(str), pc["f1"].astype(float), strict=True))


def bench(
    name: str, root: Path, work: Path, budget_share: float, seeds, n_boot: int, design: str
) -> dict:
    from tailtune.advise import AdviseSettings, advise
    from tailtune.advise.plan import naive_allocations

    work.mkdir(parents=True, exist_ok=True)
    pool, val = load_pool(name, root)
    a, held = halves(pool, seed=0)
    a_file, val_file = work / "A.parquet", work / "val.parquet"
    a.to_parquet(a_file, index=False)
    val.to_parquet(val_file, index=False)
    raw = config(name, work, a_file, val_file)
    cfg_file = work / "config.json"  # JSON is YAML: load_config reads it
    cfg_file.write_text(json.dumps(raw))
    caps = held["label"].value_counts().to_dict()
    budget = int(round(budget_share * len(a)))
    t0 = time.perf_counter()
    settings = AdviseSettings(budget=budget, seeds=list(seeds), n_boot=n_boot, design=design)
    adv = advise(cfg_file, settings, caps=caps, out_dir=work / "advice",
                 log=lambda m: print(f"  [{name}] {m}", flush=True))  # fmt: skip
    advise_s = time.perf_counter() - t0
    d = adv.data
    from tailtune.runs import read_run

    base = read_run(d["base_run"])
    base_f1 = float(base.metrics["val"]["macro_f1"])
    base_pc = per_class_f1(base)
    labels = [cv.label for cv in adv.curves]
    n_train = np.array([cv.n_train for cv in adv.curves])
    cap_arr = np.array([caps.get(lab, 0) for lab in labels])
    allocations = {"plan": np.array([d["allocation"][lab] for lab in labels])}
    allocations.update(naive_allocations(n_train, budget, cap_arr))
    # classes in A but absent from validation still train (they cannot be measured)
    rows = {}
    for alloc_name, x in allocations.items():
        alloc = {lab: int(v) for lab, v in zip(labels, x, strict=True) if v}
        run = train_scored(raw, realise(a, held, alloc, seed=11), work / f"{alloc_name}.parquet",
                           f"measured-{alloc_name}")  # fmt: skip
        measured = float(run.metrics["val"]["macro_f1"]) - base_f1
        pred = d["alternatives"][alloc_name]
        rows[alloc_name] = {
            "added": int(x.sum()), "predicted": pred["predicted_gain"], "low": pred["low"],
            "high": pred["high"], "measured": round(measured, 5),
            "inside": pred["low"] is not None and pred["low"] <= measured <= pred["high"],
            "per_class_f1": per_class_f1(run),
        }  # fmt: skip
    per_class = []
    after = rows["plan"]["per_class_f1"]
    for r in d["plan"]["allocations"]:
        m = after.get(r["label"], 0.0) - base_pc.get(r["label"], 0.0)
        per_class.append({"label": r["label"], "add": r["add"], "predicted": r["gain"],
                          "low": r["low"], "high": r["high"], "measured": round(m, 4),
                          "inside": r["low"] <= m <= r["high"]})  # fmt: skip
    for v in rows.values():
        v.pop("per_class_f1")
    diag: dict[str, int] = {}
    for c in d["classes"]:
        diag[c["diagnosis"]] = diag.get(c["diagnosis"], 0) + 1
    return {
        "dataset": name, "design": design, "pool": len(pool), "A": len(a), "held": len(held), "val": len(val),
        "classes": d["n_classes"], "budget": budget, "base_macro_f1": round(base_f1, 4),
        "advise_s": round(advise_s, 1), "runs": d["runs"]["n"], "allocations": rows,
        "per_class": per_class, "diagnosis": diag, "confusable": len(d["confusable"]),
    }  # fmt: skip


def markdown(results: list[dict], argv: str) -> str:
    out = [f"Command: `python benchmarks/advise.py {argv}`", "",
           "Backend: tfidf (word 1-2-grams, LinearSVC C 0.5), trained on half A of the training "
           "pool; gains on the fixed validation file vs advise's full-data run of seed 1. "
           f"Fraction design: {results[0]['design'] if results else '-'}.", "",
           "| data set | A / held / val | classes | budget | allocation | predicted gain "
           "[95%] | measured gain | inside |", "|---|---|---:|---:|---|---|---:|---|"]  # fmt: skip
    for r in results:
        for k, v in r["allocations"].items():
            iv = "–" if v["low"] is None else f"[{v['low']:+.4f}, {v['high']:+.4f}]"
            out.append(f"| {r['dataset']} | {r['A']:,} / {r['held']:,} / {r['val']:,} | "
                       f"{r['classes']} | {r['budget']:,} ({v['added']:,} placed) | {k} | "
                       f"{v['predicted']:+.4f} {iv} | {v['measured']:+.4f} | "
                       f"{'yes' if v['inside'] else 'no'} |")  # fmt: skip
    out += ["", "| data set | plan beats uniform | plan beats proportional | plan beats rarest | "
            "per-class measured inside interval | per-class corr(pred, measured) | advise time "
            "(runs) | base macro F1 |", "|---|---|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in results:
        al = r["allocations"]
        pc = r["per_class"]
        inside = sum(p["inside"] for p in pc)
        corr = (np.corrcoef([p["predicted"] for p in pc], [p["measured"] for p in pc])[0, 1]
                if len(pc) > 2 else float("nan"))  # fmt: skip
        beats = [
            al["plan"]["measured"] > al[k]["measured"]
            for k in ("uniform", "proportional", "rarest")
        ]
        out.append(f"| {r['dataset']} | " + " | ".join("yes" if b else "no" for b in beats)
                   + f" | {inside}/{len(pc)} | {corr:+.2f} | {r['advise_s']:.0f}s ({r['runs']}) | "
                   f"{r['base_macro_f1']:.4f} |")  # fmt: skip
    return "\n".join(out) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--budget-share", type=float, default=0.2,
                    help="budget as a share of half A's size")  # fmt: skip
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--design", default="stratified", choices=("stratified", "classwise"),
                    help="fraction design of the learning-curve runs (docs/advise.md)")  # fmt: skip
    ap.add_argument("--work", default="/tmp/tailtune-advise-bench")
    ap.add_argument("--out", default=None, help="write the Markdown table (and a .json) here")
    args = ap.parse_args(argv)
    root = data_root()
    if not root.is_dir():
        raise SystemExit(f"{root}: shared data not found (set TAILTUNE_SHARED_DATA)")
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for name in args.datasets.split(","):
        t0 = time.perf_counter()
        results.append(bench(name, root, Path(args.work) / name, args.budget_share, seeds,
                             args.n_boot, args.design))  # fmt: skip
        print(f"{name}: done in {time.perf_counter() - t0:.0f}s", flush=True)
    md = markdown(results, " ".join(sys.argv[1:] if argv is None else argv))
    print(md)
    if args.out:
        Path(args.out).write_text(md, encoding="utf-8")
        Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

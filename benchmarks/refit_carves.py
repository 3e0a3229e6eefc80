"""Refit vs selection over several 10% carve seeds, beside the noise floor of the carve itself.

    python benchmarks/refit_carves.py cfpb [--carves 8]     # or atis, banking77, goemotions

Shows whether a refit-minus-selection difference on one carve (benchmarks/quality.py --refit)
is a property of refitting or of which 10% was carved. The paired bootstrap over test rows
(``tailtune.evaluation.noise.paired_bootstrap``) holds the trained models fixed: it measures the
noise of the test sample, not that of the training sample, which is a separate and often larger
source of variance (Bouthillier et al. 2021, "Accounting for Variance in Machine Learning
Benchmarks", MLSys). So the script also compares two *selection* models trained on different
90% carves (same size, same recipe): any "meaningful" difference between those is training-
composition noise alone, and a refit difference is judged against it.

Rows, per carve seed, TF-IDF word+char with sqrt-inverse class weights:
- with τ: selection (τ chosen on the carve) vs refit (τ frozen, train + validation);
- without τ: selection vs refit — no validation choice touches the argmax (the SVM temperature
  does not), so this is the effect of the carve's rows alone;
- null: selection model of carve i vs that of carve i+1, both with τ and both without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")
from quality import data_root, load_dataset  # noqa: E402

from tailtune.backends import freeze, make_backend  # noqa: E402
from tailtune.data.split import split_frame  # noqa: E402
from tailtune.evaluation.noise import paired_bootstrap  # noqa: E402

SEEDS = (42, 1, 2, 3, 4, 5, 6, 7, 8, 9)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--carves", type=int, default=8, help=f"carve seeds, at most {len(SEEDS)}")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args(argv)
    train, test = load_dataset(args.dataset, data_root())
    xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()

    def compare(a, b):
        return paired_bootstrap(yt, a, b, n_boot=args.n_boot, seed=0)["macro_f1"]

    def show(what, r):
        flag = " (meaningful)" if r["meaningful"] else ""
        print(
            f"{args.dataset} {what}: {r['a']:.4f} -> {r['b']:.4f} diff {r['diff']:+.4f} "
            f"[{r['low']:+.4f}, {r['high']:+.4f}]{flag}",
            flush=True,
        )
        return r

    full_x, full_y = train["text"].tolist(), train["label"].astype(str).to_numpy()
    # without τ the refit sees the same rows whatever the carve, and nothing chosen on the carve
    # moves its argmax: one model serves every carve
    plain = make_backend("tfidf", class_weights="sqrt_inverse")
    refit_plain = plain.fit(full_x, full_y).predict(xt)
    out = {"refit_tau": [], "refit_plain": [], "null_tau": [], "null_plain": []}
    previous = None
    for seed in SEEDS[: args.carves]:
        parts = split_frame(train, val=0.1, seed=seed)
        xf, yf = parts.train["text"].tolist(), parts.train["label"].astype(str).to_numpy()
        xv, yv = parts.val["text"].tolist(), parts.val["label"].astype(str).to_numpy()
        sel = make_backend("tfidf", class_weights="sqrt_inverse", tune_posthoc_tau=True)
        sel.fit(xf, yf, eval_set=(xv, yv))
        ref = freeze(sel).fit(xf + xv, np.concatenate([yf, yv]))
        sel_plain = make_backend("tfidf", class_weights="sqrt_inverse").fit(xf, yf)
        now = {"tau": sel.predict(xt), "plain": sel_plain.predict(xt)}
        out["refit_tau"].append(show(f"carve {seed} τ={sel.tau_:g} refit", compare(now["tau"], ref.predict(xt))))  # fmt: skip
        out["refit_plain"].append(show(f"carve {seed} no τ refit", compare(now["plain"], refit_plain)))  # fmt: skip
        if previous is not None:
            for kind in ("tau", "plain"):
                r = compare(previous[1][kind], now[kind])
                out[f"null_{kind}"].append(show(f"null carve {previous[0]} vs {seed} ({kind})", r))
        previous = (seed, now)

    print(f"\n{args.dataset}: {len(test)} test rows; mean ± sd of the test macro-F1 difference")
    for key, text in (
        ("refit_tau", "refit − selection, with τ"),
        ("refit_plain", "refit − selection, no τ"),
        ("null_tau", "selection carve i+1 − carve i, with τ (null)"),
        ("null_plain", "selection carve i+1 − carve i, no τ (null)"),
    ):
        diffs = [r["diff"] for r in out[key]]
        worse = sum(r["meaningful"] and r["diff"] < 0 for r in out[key])
        better = sum(r["meaningful"] and r["diff"] > 0 for r in out[key])
        sd = statistics.stdev(diffs) if len(diffs) > 1 else float("nan")
        print(
            f"  {text}: {statistics.fmean(diffs):+.4f} ± {sd:.4f} over {len(diffs)}; "
            f"bootstrap says meaningful: {worse} worse, {better} better",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

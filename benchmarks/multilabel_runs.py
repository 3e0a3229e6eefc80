"""Label-set runs side by side: test micro / macro / samples F1 with bootstrap intervals, zero-F1
labels, fit time, and each run's tuned thresholds against a fixed 0.5 on its own scores.

    python benchmarks/multilabel_runs.py RUN [RUN ...] [--against RUN] [--blend] [--n-boot 1000]

Each RUN is a finished ``tailtune train`` run on label sets (``data.multi_label: sets``). Read
from the run directory only: ``predictions.csv`` (gold and predicted sets), ``probabilities.npz``
(the test scores, one sigmoid per label) and ``metrics.json`` (dev macro F1, fit seconds).

- The intervals resample test texts with replacement (a text's labels travel together;
  ``tailtune.evaluation.set_runs.set_ci``), 95% percentile.
- "0.5": the same test scores decided by a fixed 0.5 for every label (what a sigmoid head does
  untuned, and what 🤗 ``pipeline`` applies), against the run's saved rule (thresholds tuned on
  dev); the paired bootstrap of the macro F1 difference is over test texts (Koehn 2004).
- ``--against``: a paired bootstrap of each RUN's test macro F1 against that run's.
- ``--blend``: also the weighted mean of the RUNs' saved scores, as the ``ensemble`` backend
  blends its members with ``carve: 0`` (``tailtune.backends.ensemble.blend`` over
  ``weight_grid``): the weights with the best dev macro F1 of thresholds tuned on dev, then the
  per-label thresholds (shrink 10) tuned on dev for that blend; test scored once. It reuses runs
  already trained, so it costs seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def row(run, n_boot: int) -> dict:
    """The figures of one run (test split)."""
    from tailtune.evaluation.set_metrics import paired_bootstrap_sets, set_metrics
    from tailtune.evaluation.set_runs import set_ci, split_matrices
    from tailtune.objectives.thresholds import SetRule

    y, pred, classes, _ = split_matrices(run, "test")
    names, scores = run.probabilities("test")
    if names != classes:
        raise SystemExit(f"{run.path}: probabilities and predictions name different labels")
    ci = set_ci(y, pred, n_boot=n_boot)
    tuned = set_metrics(y, pred, classes)
    fixed = SetRule.fixed(classes, 0.5).apply(scores)
    half = set_metrics(y, fixed, classes)
    gain = paired_bootstrap_sets(y, fixed, pred, n_boot=n_boot)["macro_f1"]
    m = run.metrics
    return {
        "run": run.name, "backend": m.get("backend"), "dev_macro_f1": m["val"]["macro_f1"],
        "ci": ci, "zero_f1": tuned["zero_f1"], "fit_s": (m.get("timing") or {}).get("fit_s"),
        "half_macro_f1": half["macro_f1"], "half_zero_f1": half["zero_f1"], "gain": gain,
        "y": y, "pred": pred,
    }  # fmt: skip


def blended(runs, n_boot: int) -> dict:
    """The dev-chosen blend of the runs' saved scores, as a row (see the module docstring)."""
    from tailtune.backends.ensemble import blend, weight_grid
    from tailtune.evaluation.set_metrics import paired_bootstrap_sets, set_metrics
    from tailtune.evaluation.set_runs import set_ci, split_matrices
    from tailtune.objectives.thresholds import SetRule, tune_set_rule

    gold = {s: split_matrices(runs[0], s) for s in ("val", "test")}
    names = gold["val"][2]
    scores = {s: [] for s in gold}
    for run in runs:
        for s in gold:
            y, _, classes, ids = split_matrices(run, s)
            if classes != names or ids != gold[s][3] or not (y == gold[s][0]).all():
                raise SystemExit(f"{run.path}: {s} rows or labels differ from {runs[0].path}'s")
            scores[s].append(run.probabilities(s)[1])
    y_dev, y_test = gold["val"][0], gold["test"][0]

    def dev_f1(p):
        return set_metrics(y_dev, tune_set_rule(p, y_dev, names).apply(p), names)["macro_f1"]

    w = max(weight_grid(len(runs)), key=lambda w: (dev_f1(blend(scores["val"], w)), -max(w)))
    p_dev, p_test = blend(scores["val"], w), blend(scores["test"], w)
    rule = tune_set_rule(p_dev, y_dev, names, shrink=10)
    pred = rule.apply(p_test)
    fixed = SetRule.fixed(names, 0.5).apply(p_test)
    half = set_metrics(y_test, fixed, names)
    label = " + ".join(
        f"{wi:.1f}·{r.metrics.get('backend')}" for wi, r in zip(w, runs, strict=True)
    )
    return {
        "run": f"blend of saved scores ({label})", "backend": "blend",
        "dev_macro_f1": set_metrics(y_dev, rule.apply(p_dev), names)["macro_f1"],
        "ci": set_ci(y_test, pred, n_boot=n_boot),
        "zero_f1": set_metrics(y_test, pred, names)["zero_f1"], "fit_s": None,
        "half_macro_f1": half["macro_f1"], "half_zero_f1": half["zero_f1"],
        "gain": paired_bootstrap_sets(y_test, fixed, pred, n_boot=n_boot)["macro_f1"],
        "y": y_test, "pred": pred,
    }  # fmt: skip


def main(argv=None) -> int:
    from tailtune.evaluation.set_metrics import paired_bootstrap_sets
    from tailtune.runs import read_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--against", type=Path, default=None, help="paired test against this run")
    ap.add_argument("--blend", action="store_true", help="also the dev-chosen blend of the runs")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args(argv)

    rows = [row(read_run(p), args.n_boot) for p in args.runs]
    if args.blend:
        rows.append(blended([read_run(p) for p in args.runs], args.n_boot))
    print(
        "| run | backend | dev macro F1 | test macro F1 [95% CI] | micro F1 [95% CI] | samples F1 "
        "[95% CI] | zero-F1 labels | fit s | macro F1 at 0.5 (zero-F1) | tuned − 0.5 [95% CI] |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")

    def cell(c):
        return f"{c['value']:.4f} [{c['low']:.4f}, {c['high']:.4f}]"

    for r in rows:
        g, ci = r["gain"], r["ci"]
        fit = "-" if r["fit_s"] is None else f"{r['fit_s']:,.0f}"
        print(f"| {r['run']} | {r['backend']} | {r['dev_macro_f1']:.4f} | {cell(ci['macro_f1'])} | "
              f"{cell(ci['micro_f1'])} | {cell(ci['samples_f1'])} | {r['zero_f1']} | {fit} | "
              f"{r['half_macro_f1']:.4f} ({r['half_zero_f1']}) | {g['diff']:+.4f} "
              f"[{g['low']:+.4f}, {g['high']:+.4f}] |")  # fmt: skip
    if args.against is not None:
        base = row(read_run(args.against), args.n_boot)
        print()
        for r in rows:
            if not (r["y"] == base["y"]).all():
                raise SystemExit(f"{r['run']}: test gold differs from {base['run']}'s")
            d = paired_bootstrap_sets(base["y"], base["pred"], r["pred"], n_boot=args.n_boot)
            d = d["macro_f1"]
            print(
                f"{r['run']} − {base['run']}: test macro F1 {d['diff']:+.4f} "
                f"[{d['low']:+.4f}, {d['high']:+.4f}], p(no gain) = {d['p_le_0']:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    raise SystemExit(main())

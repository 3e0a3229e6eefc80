"""A sweep's confirmed best config beside the shipped defaults, on the same seeds and split.

    tailtune sweep configs/sweeps/cpu-longtail-banking77.yaml        # the search + confirmation
    python benchmarks/sweep_defaults.py configs/sweeps/cpu-longtail-banking77.yaml

The defaults are the sweep's base config (its recipe plus ``set:``) with none of the searched
values applied, trained on the seeds the confirmation used (the base seed + 1 ... + N) with the
split the trials chose on (``split.seed`` pinned), under ``runs/<sweep>/defaults/`` (finished
runs are reused). Printed: validation and test macro F1, mean ± sd over the seeds, the test
set's 95% bootstrap half-width (``tailtune noise``), and per seed the paired-bootstrap interval
of best − defaults on the test rows (Koehn 2004). Run it after the sweep: it reads the
confirmation's runs (``runs/<sweep>/confirm-s<seed>-*``); ``--seeds`` compares some of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep", type=Path, help="the sweep file")
    ap.add_argument("--runs-dir", default=None, help="as given to tailtune sweep")
    ap.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds to compare (default: the confirmation's, base seed + 1..N)",
    )
    args = ap.parse_args(argv)

    from tailtune.config import config_from_dict, config_to_dict
    from tailtune.evaluation.noise import paired_bootstrap
    from tailtune.runs.reader import is_run_dir, read_run
    from tailtune.sweep.confirm import summarize
    from tailtune.sweep.run import sweep_dir
    from tailtune.sweep.spec import base_config, load_sweep
    from tailtune.workflow import train

    spec = load_sweep(args.sweep)
    base = base_config(spec)
    folder = sweep_dir(spec, args.runs_dir or spec.runs_dir or base.runs_dir)
    raw = config_to_dict(base)
    raw["split"]["seed"] = base.split.seed if base.split.seed is not None else base.seed
    seeds = [base.seed + i for i in range(1, (spec.confirm or 3) + 1)]  # as the confirmation
    if args.seeds:
        seeds = [int(x) for x in args.seeds.split(",")]
    best_runs = []
    for seed in seeds:  # the confirmation's runs of the best config (finished ones only)
        found = [d for d in sorted(folder.glob(f"confirm-s{seed}-*")) if is_run_dir(d)]
        if not found:
            print(f"sweep_defaults: no finished confirmation run for seed {seed} in {folder}")
            return 1
        best_runs.append(found[-1])
    home = folder / "defaults"
    default_runs = []
    for seed in seeds:
        found = [d for d in sorted(home.glob(f"defaults-s{seed}-*")) if is_run_dir(d)]
        if found:
            default_runs.append(found[-1])
            continue
        cfg = config_from_dict(
            {**raw, "seed": seed, "name": f"defaults-s{seed}", "runs_dir": str(home)}
        )
        print(f"training the defaults on seed {seed}", flush=True)
        default_runs.append(Path(train(cfg, log=lambda _line: None)))
    metric = spec.metric
    record_path = folder / "sweep.json"
    if record_path.is_file():
        best = json.loads(record_path.read_text()).get("best") or {}
        print(
            f"best trial {best.get('number')}: val {metric} {best.get('value', float('nan')):.4f}"
        )
    for name, runs in (("shipped defaults", default_runs), ("sweep best", best_runs)):
        config = read_run(runs[0]).config
        shown = ", ".join(f"{p.field}={_short(_get(config, p.field))}" for p in spec.params)
        print(f"{name}: {shown}")
    print(f"seeds {seeds}; split seed {raw['split']['seed']}; runs under {folder}")
    rows = {
        "shipped defaults": summarize(default_runs, metric),
        "sweep best": summarize(best_runs, metric),
    }
    print(
        f"| config | val {metric} (mean ± sd) | test {metric} (mean ± sd) | test 95% bootstrap ± |"
    )
    print("|---|---|---|---|")
    for name, s in rows.items():
        print(
            f"| {name} | {_mean_sd(s.get('val'))} | {_mean_sd(s.get('test'))} | "
            f"{s['noise']['macro_f1_half_width']:.4f} |"
        )
    print("| seed | test macro F1 best − defaults [95% paired bootstrap] |")
    print("|---|---|")
    diffs = []
    for seed, d_dir, b_dir in zip(seeds, default_runs, best_runs, strict=True):
        d = read_run(d_dir).split_predictions("test")
        b = read_run(b_dir).split_predictions("test").set_index("id").loc[d["id"]]  # same rows
        p = paired_bootstrap(d["gold"], d["pred"], b["pred"].to_numpy(), seed=0)["macro_f1"]
        diffs.append(p["diff"])
        print(f"| {seed} | {p['diff']:+.4f} [{p['low']:+.4f}, {p['high']:+.4f}] |")
    print(f"mean difference {statistics.fmean(diffs):+.4f}")
    return 0


def _mean_sd(s) -> str:
    if not s:
        return "–"
    sd = f" ± {s['sd']:.4f}" if s.get("sd") is not None else ""
    return f"{s['mean']:.4f}{sd}"


def _get(config: dict, dotted: str):
    for part in dotted.split("."):
        config = config[part]
    return config


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())

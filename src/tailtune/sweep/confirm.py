"""Confirm a sweep's best config: train it again on fresh seeds and report mean ± sd.

The seeds differ from the one every trial trained with; the train / validation split stays the
trials' one (``split.seed`` is pinned), so the validation figure isolates the luck of the seed,
and a test split, which no trial read, gives the figure to quote. The evaluation set's own noise
is the 95% stratified-bootstrap interval of each run's macro F1
(:func:`tailtune.evaluation.noise.bootstrap_ci`), averaged over the runs.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from tailtune.config import config_from_dict
from tailtune.evaluation.noise import bootstrap_ci
from tailtune.experiments.executors import run_jobs
from tailtune.runs.index import index_run, run_config_hash, run_key
from tailtune.runs.reader import is_run_dir, read_run

__all__ = ["confirm_best", "summarize"]


def confirm_best(spec, best_raw: dict, best: dict, folder: Path, *, trainer, say, db) -> dict:
    """Train ``best_raw`` on ``spec.confirm`` fresh seeds (finished ones are reused)."""
    seeds = [int(best_raw["seed"]) + i for i in range(1, spec.confirm + 1)]
    rel, jobs, runs = folder.name, [], {}
    for seed in seeds:
        raw = {**best_raw, "seed": seed, "name": f"{spec.name}-confirm"}
        stem = f"confirm-s{seed}"
        found = [d for d in sorted(folder.glob(f"{stem}-*")) if is_run_dir(d)]
        if found and run_config_hash(read_run(found[-1]).config) == run_config_hash(
            config_from_dict(raw)
        ):
            runs[seed] = found[-1]
            continue
        key = run_key(rel, run_config_hash(config_from_dict(raw)), stem)
        jobs.append({"key": key, "config": raw, "run_name": stem, "runs_dir": str(folder),
                     "trainer": trainer, "seed": seed})  # fmt: skip
    say(f"confirming the best config on seeds {seeds} ({len(jobs)} to train)")
    by_key = {j["key"]: j for j in jobs}

    def on_result(res: dict) -> None:
        if res["status"] == "finished":
            index_run(db, res["run_dir"], experiment=rel, key=res["key"])
            runs[by_key[res["key"]]["seed"]] = Path(res["run_dir"])
        else:
            say(f"  confirmation seed {by_key[res['key']]['seed']}: failed: {res['error']}")

    if jobs:
        run_jobs(jobs, spec.executor, workers=spec.workers, ray_address=spec.ray_address,
                 on_result=on_result, work_dir=folder)  # fmt: skip
    out = summarize([runs[s] for s in seeds if s in runs], spec.metric)
    out.update(seeds=seeds, best_trial_value=best["value"])
    for line in confirmation_lines(out, spec.metric):
        say(line)
    return out


def summarize(run_dirs: list[Path], metric: str) -> dict[str, Any]:
    """Mean, sd and values of ``metric`` per split over the runs, and the mean bootstrap
    half-width of macro F1 on the split to quote (test when present, else validation)."""
    runs = [read_run(d) for d in run_dirs]
    out: dict[str, Any] = {"runs": [str(r.path) for r in runs], "n": len(runs)}
    for split in ("val", "test"):
        values = [float(r.metrics[split][metric]) for r in runs if r.metrics.get(split)]
        if values:
            sd = statistics.stdev(values) if len(values) > 1 else None
            out[split] = {"mean": statistics.fmean(values), "sd": sd, "values": values}
    quoted = "test" if "test" in out else "val"
    widths = []
    for r in runs:
        frame = r.split_predictions(quoted)
        if len(frame):
            ci = bootstrap_ci(frame["gold"], frame["pred"])
            widths.append(ci["macro_f1"]["half_width"])
    out["noise"] = {
        "split": quoted,
        "macro_f1_half_width": statistics.fmean(widths) if widths else None,
    }
    return out


def confirmation_lines(c: dict[str, Any], metric: str) -> list[str]:
    """What the confirmation says, in plain lines."""
    if not c.get("n"):
        return ["confirmation: no run finished"]
    lines = []
    for split in ("val", "test"):
        if split in c:
            s = c[split]
            sd = f" ± {s['sd']:.4f} (mean ± sd)" if s["sd"] is not None else " (one seed)"
            lines.append(
                f"confirmation on {c['n']} fresh seed(s): {split} {metric} {s['mean']:.4f}{sd}"
            )
    noise = c["noise"]
    if noise["macro_f1_half_width"] is not None:
        lines.append(
            f"the {noise['split']} set's own noise: 95% bootstrap interval of macro F1 "
            f"± {noise['macro_f1_half_width']:.4f} (mean half-width over the runs)"
        )
    gap = c["best_trial_value"] - c["val"]["mean"] if "val" in c else None
    if gap is not None:
        lines.append(
            f"the best trial's val {metric} {c['best_trial_value']:.4f} is {gap:+.4f} from the "
            "confirmation's val mean: the part of it that was the luck of one seed"
        )
    if "test" not in c:
        lines.append(
            "no test split: these figures are on the validation data the search chose on; set "
            "data.test_path (or split.test) for a figure no trial saw"
        )
    return lines

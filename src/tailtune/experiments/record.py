"""The experiment record: the five fields of a controlled experiment, filled from the finished
run directories, and the verdict on the prediction.

Variable changed, held constant (computed: every resolved field that did not vary), prediction
(written before running), result (mean ± std over seeds per value, per-tier deltas, zero-F1
counts) and meaningful. "Meaningful" asks two questions of each value against the first one:
is the difference of means larger than twice the larger seed standard deviation, and does the
paired bootstrap on the same validation examples (same seed, so the same split; Koehn 2004)
give an interval for the difference that excludes zero? The verdict sentence follows from them.
A structured prediction is checked against the same two sources of noise
(:mod:`tailtune.experiments.prediction`): held / did not hold / inconclusive.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from tailtune.experiments.plan import PlannedRun, value_label
from tailtune.experiments.prediction import BOOTSTRAPPED, check_prediction
from tailtune.experiments.spec import Experiment
from tailtune.runs.index import flatten_config
from tailtune.runs.reader import read_run

__all__ = ["METRICS", "build_record", "mean_std", "seed_spread_test", "verdict", "write_record"]

METRICS = ("accuracy", "macro_f1", "zero_f1")
TIERS = ("head", "mid", "tail")


def build_record(
    exp: Experiment,
    planned: list[PlannedRun],
    run_dirs: dict[str, Path],
    failures: dict[str, str] | None = None,
    prediction_written: str | None = None,
    in_progress: dict[str, str] | None = None,
    prediction_versions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The record as a JSON-ready dict; ``run_dirs`` maps run ids to finished run directories,
    ``in_progress`` the runs another driver was training (by run id, who holds the lock)."""
    failures = failures or {}
    in_progress = in_progress or {}
    cells = _cells(exp, planned, run_dirs)
    record = {
        "experiment": exp.name,
        "source": exp.source,
        "variable_changed": {"fields": exp.fields, "grid": exp.is_grid, "seeds": exp.seeds},
        "held_constant": held_constant(planned),
        "prediction": exp.prediction,
        "prediction_written": prediction_written,
        "result": {
            "metric": exp.metric,
            "cells": cells,
            "tiers_rule": next((c["tiers_rule"] for c in cells if c.get("tiers_rule")), None),
        },  # fmt: skip
        "failed": [
            {"values": p.values, "seed": p.seed, "run_id": p.run_id, "error": failures[p.run_id]}
            for p in planned
            if p.run_id in failures and p.run_id not in run_dirs
        ],
        "in_progress": [
            {
                "values": p.values,
                "seed": p.seed,
                "run_id": p.run_id,
                "held_by": in_progress[p.run_id],
            }
            for p in planned
            if p.run_id in in_progress and p.run_id not in run_dirs
        ],
    }
    paired = _paired_bootstraps(exp, cells)
    record["meaningful"] = _meaningful(exp, cells, paired)
    record["prediction_check"] = check_prediction(
        exp.expected, _prediction_inputs(exp, exp.expected, cells, paired)
    )
    if prediction_versions:
        record["prediction_written"] = prediction_versions[-1]["registered"]
        record["prediction_versions"] = prediction_versions
        _changed_after_results(record, exp, cells, paired, prediction_versions)
    return record


def _changed_after_results(record, exp, cells, paired, versions) -> None:
    """Mark every verdict when the prediction was edited after results existed, and keep the
    original (first) prediction's verdict beside the current one."""
    from tailtune.experiments.prediction import Prediction
    from tailtune.experiments.registry import AFTER_RESULTS

    if not any(v["after_results"] for v in versions):
        return
    record["prediction_changed_after_results"] = True
    check = record["prediction_check"]
    check["sentence"] = f"{AFTER_RESULTS} (version {len(versions)}): {check['sentence']}"
    first = versions[0]
    original = Prediction(**first["expected"]) if first.get("expected") else None
    orig = check_prediction(original, _prediction_inputs(exp, original, cells, paired))
    orig["text"], orig["registered"] = first["text"], first["registered"]
    record["original_prediction_check"] = orig


def held_constant(planned: list[PlannedRun]) -> dict[str, Any]:
    """Every resolved config field with the same value in all planned runs (seed and storage
    folder aside: seeds are listed on their own, ``runs_dir`` is not a variable)."""
    flats = [flatten_config(p.config_dict()) for p in planned]
    keys = [k for k in flats[0] if k not in ("seed", "runs_dir")]
    same = [k for k in keys if all(json.dumps(f.get(k), default=str) == json.dumps(flats[0][k], default=str) for f in flats)]  # fmt: skip
    return {k: flats[0][k] for k in same}


def mean_std(values: list[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (None for one value) of a metric over seeds."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"mean": None, "std": None, "n": 0}
    std = statistics.stdev(vals) if len(vals) > 1 else None
    return {"mean": statistics.fmean(vals), "std": std, "n": len(vals)}


def seed_spread_test(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Is |mean_b - mean_a| larger than 2 × the larger seed std? (None when a side has one seed.)"""
    delta = b["mean"] - a["mean"]
    if a["std"] is None or b["std"] is None:
        return {"delta": delta, "threshold": None, "passes": None}
    threshold = 2 * max(a["std"], b["std"])
    return {"delta": delta, "threshold": threshold, "passes": abs(delta) > threshold}


def verdict(metric: str, spread: dict[str, Any], paired: list[dict[str, Any]]) -> tuple[str, str]:
    """(label, sentence): meaningful / not meaningful / inconclusive / explore-only."""
    d = spread["delta"]
    paired = [p for p in paired if "error" not in p]
    sign = [p for p in paired if p["meaningful"] and (p["diff"] > 0) == (d > 0)]
    boot = f"{len(sign)}/{len(paired)} paired bootstrap intervals exclude 0 in the same direction"
    if not paired:  # e.g. the varied field changes the validation set: seed spread alone
        boot = "no paired bootstrap (the values do not share a validation set)"
        if spread["passes"] is not None:
            label = "meaningful" if spread["passes"] else "not meaningful"
            rel = ">" if spread["passes"] else "≤"
            return label, (
                f"{label}: Δ {metric} = {d:+.4f}; |Δ| = {abs(d):.4f} {rel} 2·max std = "
                f"{spread['threshold']:.4f} ({boot})"
            )
    if spread["passes"] is None:
        return "explore", (
            f"Δ {metric} = {d:+.4f} with one seed per value ({boot}): explore only, confirm with 3 seeds"
        )
    seed_txt = f"|Δ| = {abs(d):.4f} {'>' if spread['passes'] else '≤'} 2·max std = {spread['threshold']:.4f}"
    boot_ok = bool(paired) and len(sign) == len(paired)
    if spread["passes"] and boot_ok:
        return "meaningful", f"meaningful: Δ {metric} = {d:+.4f}; {seed_txt}, and {boot}"
    if not spread["passes"] and not sign:
        return "not meaningful", f"not meaningful: Δ {metric} = {d:+.4f} is within seed noise ({seed_txt}); {boot}"  # fmt: skip
    return "inconclusive", f"inconclusive: Δ {metric} = {d:+.4f}; {seed_txt}, but {boot}"


def _cells(exp, planned, run_dirs) -> list[dict[str, Any]]:
    cells: dict[tuple, dict[str, Any]] = {}
    for p in planned:
        cell = cells.setdefault(
            p.cell, {"values": p.values, "label": " / ".join(p.cell), "runs": []}
        )
        if p.run_id not in run_dirs:
            continue
        run = read_run(run_dirs[p.run_id])
        val = run.metrics.get("val") or {}
        info = run.metrics.get("info") or {}
        cell["runs"].append({
            "seed": p.seed, "run_id": p.run_id, "run_dir": str(run_dirs[p.run_id]),
            **{m: val.get(m) for m in (*METRICS, "balanced_accuracy", "weighted_f1")},
            "tiers": {t: (val.get("tiers") or {}).get(t, {}).get("mean_f1") for t in TIERS},
            "train_size": run.metrics.get("train_size"), "info": info,
            "total_s": (run.metrics.get("timing") or {}).get("total_s"),
        })  # fmt: skip
    out = list(cells.values())
    _fix_tiers(out)
    for cell in out:
        for m in {*METRICS, exp.metric}:
            cell[m] = mean_std([r[m] for r in cell["runs"]])
        cell["tiers"] = {t: mean_std([r["tiers"][t] for r in cell["runs"]])["mean"] for t in TIERS}
    first = out[0]
    for cell in out:
        cell["delta"] = {m: _sub(cell[m]["mean"], first[m]["mean"]) for m in {*METRICS, exp.metric}}
        cell["tier_delta"] = {t: _sub(cell["tiers"][t], first["tiers"][t]) for t in TIERS}
    return out


def _fix_tiers(cells: list[dict[str, Any]]) -> None:
    """Every run's tier F1 on the tiers of the full training data (experiments/fixed_tiers)."""
    from tailtune.experiments.fixed_tiers import fixed_tiers, tier_means

    runs = [r for c in cells for r in c["runs"]]
    fixed = fixed_tiers([Path(r["run_dir"]) for r in runs])
    if fixed is None:
        return
    tiers, rule = fixed
    for r in runs:
        r["tiers"] = tier_means(Path(r["run_dir"]), tiers)
    for c in cells:
        c["tiers_rule"] = rule


def _paired_bootstraps(exp, cells) -> dict[str, list[dict[str, Any]]]:
    """Per compared cell (by label): one paired bootstrap per seed both cells ran, against the
    first cell (same seed, so the same validation split), or the reason it does not apply."""
    if exp.is_grid or not cells:
        return {}
    from tailtune.evaluation.noise import paired_bootstrap_runs

    first = cells[0]
    base_runs = {r["seed"]: r for r in first["runs"]}
    out: dict[str, list[dict[str, Any]]] = {}
    for cell in cells[1:]:
        out[cell["label"]] = []
        for r in cell["runs"]:
            if r["seed"] not in base_runs:
                continue
            try:
                res = paired_bootstrap_runs(
                    read_run(base_runs[r["seed"]]["run_dir"]), read_run(r["run_dir"])
                )
            except Exception as exc:  # different validation sets: say so instead of comparing
                out[cell["label"]].append({"seed": r["seed"], "error": str(exc)})
                continue
            out[cell["label"]].append({"seed": r["seed"], **{m: res[m] for m in BOOTSTRAPPED}})
    return out


def _meaningful(exp, cells, boots) -> dict[str, Any]:
    if exp.is_grid:
        return {"comparisons": [], "summary": "a declared grid maps a surface (see the heatmap); "
                "make one-variable experiments of the cells you want to compare"}  # fmt: skip
    first = cells[0]
    # the paired bootstrap resamples accuracy and macro F1; other metrics lean on macro F1's
    key = exp.metric if exp.metric in BOOTSTRAPPED else "macro_f1"
    comparisons = []
    for cell in cells[1:]:
        if first[exp.metric]["mean"] is None or cell[exp.metric]["mean"] is None:
            continue
        spread = seed_spread_test(first[exp.metric], cell[exp.metric])
        paired = []
        for b in boots.get(cell["label"], []):
            if "error" in b:
                paired.append({"seed": b["seed"], "error": b["error"], "meaningful": False, "diff": 0.0})  # fmt: skip
            else:
                paired.append({"seed": b["seed"], **{k: b[key][k] for k in ("diff", "low", "high", "meaningful")}})  # fmt: skip
        label, sentence = verdict(exp.metric, spread, paired)
        comparisons.append({"a": first["label"], "b": cell["label"], "seed_spread": spread,
                            "paired_bootstrap": paired, "verdict": label, "sentence": sentence})  # fmt: skip
    summary = "; ".join(f"{c['b']} vs {c['a']}: {c['sentence']}" for c in comparisons)
    return {"comparisons": comparisons, "summary": summary or "no comparison (missing runs)"}


def _prediction_inputs(exp, expected, cells, boots) -> list[dict[str, Any]]:
    """What :func:`check_prediction` needs for each value against the first, on the metric of
    the prediction ``expected``."""
    if expected is None or exp.is_grid or not cells:
        return []
    metric = expected.metric
    (values,) = exp.fields.values()
    first = cells[0]
    out = []
    for value, cell in zip(values[1:], cells[1:], strict=True):
        paired = []
        if metric in BOOTSTRAPPED:
            for b in boots.get(cell["label"], []):
                if "error" not in b:
                    paired.append({"seed": b["seed"], "low": b[metric]["low"], "high": b[metric]["high"]})  # fmt: skip
        out.append({
            "a": first["label"], "b": cell["label"], "value": value,
            "a_stats": _stats(first, metric), "b_stats": _stats(cell, metric), "paired": paired,
        })  # fmt: skip
    return out


def _stats(cell: dict[str, Any], metric: str) -> dict[str, Any]:
    """Mean and std over seeds of a record metric or a tier's mean F1 (``tail_f1``)."""
    tier = metric.removesuffix("_f1")
    if tier in TIERS:
        return mean_std([r["tiers"][tier] for r in cell["runs"]])
    return mean_std([r.get(metric) for r in cell["runs"]])


def _sub(a, b):
    return None if a is None or b is None else a - b


# ---------------------------------------------------------------------------------------------
# writing


def write_record(exp_dir: str | Path, record: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``record.json`` and ``record.md`` into the experiment folder; returns both paths."""
    exp_dir = Path(exp_dir)
    js, md = exp_dir / "record.json", exp_dir / "record.md"
    js.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    md.write_text(render_markdown(record), encoding="utf-8")
    return js, md


def render_markdown(record: dict[str, Any]) -> str:
    """The record as Markdown: the five fields of a controlled experiment, in order, and the
    verdict on the prediction."""
    var = record["variable_changed"]
    res = record["result"]
    fields = "; ".join(
        f"`{k}` ∈ {{{', '.join(value_label(v) for v in vs)}}}" for k, vs in var["fields"].items()
    )
    lines = [
        f"# Experiment: {record['experiment']}", "",
        f"**Variable changed** ({'grid' if var['grid'] else 'one variable'}): {fields}; seeds {var['seeds']}", "",
        f"**Prediction** (written {record.get('prediction_written') or 'before running'}): {record['prediction']}", "",
        *_original_lines(record),
        f"**Prediction held?** {_prediction_line(record)}", "",
        f"**Result** (validation, mean ± std over seeds; Δ vs `{res['cells'][0]['label']}`):", "",
        "| value | seeds | accuracy | macro F1 | zero-F1 classes | Δ " + res["metric"] + " | Δ head F1 | Δ mid F1 | Δ tail F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for c in res["cells"]:
        d = c["delta"][res["metric"]]
        lines.append(
            f"| {c['label']} | {c['macro_f1']['n']} | {_pm(c['accuracy'])} | {_pm(c['macro_f1'])} | "
            f"{_pm(c['zero_f1'], 1)} | {_num(d, True)} | "
            + " | ".join(_num(c["tier_delta"][t], True) for t in TIERS) + " |"
        )  # fmt: skip
    for f in record.get("failed", []):
        lines.append(f"\nFailed: {f['values']} seed {f['seed']}: {f['error']}")
    for f in record.get("in_progress", []):
        lines.append(f"\nIn progress elsewhere: {f['values']} seed {f['seed']}: {f['held_by']}")
    rule = res.get("tiers_rule")
    if rule:
        lines.append(f"\nTier columns: {rule}.")
    lines += ["", f"**Meaningful?** {record['meaningful']['summary']}", ""]
    for comp in record["meaningful"]["comparisons"]:
        for p in comp["paired_bootstrap"]:
            if "error" in p:
                lines.append(f"- {comp['b']} vs {comp['a']}, seed {p['seed']}: {p['error']}")
            else:
                lines.append(f"- {comp['b']} vs {comp['a']}, seed {p['seed']}: paired bootstrap Δ = "
                             f"{p['diff']:+.4f} [{p['low']:+.4f}, {p['high']:+.4f}]")  # fmt: skip
    held = record["held_constant"]
    lines += ["", f"**Held constant** ({len(held)} resolved fields):", "", "<details><summary>show</summary>", ""]  # fmt: skip
    lines += [f"- `{k}`: {json.dumps(v, default=str)}" for k, v in held.items()]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _original_lines(record: dict[str, Any]) -> list[str]:
    """The original prediction and its verdict, when the prediction changed after results."""
    orig = record.get("original_prediction_check")
    if not record.get("prediction_changed_after_results") or orig is None:
        return []
    n = len(record.get("prediction_versions") or [])
    return [f"**Prediction changed after results** (version {n}); the original, registered "
            f"{orig['registered']}: {orig['text']}", "",
            f"**Original prediction held?** {orig['sentence']}", ""]  # fmt: skip


def _prediction_line(record: dict[str, Any]) -> str:
    check = record.get("prediction_check") or {}
    if not check.get("checkable"):
        return check.get("sentence") or "not machine-checkable"
    changed = (
        "prediction changed after results: "
        if record.get("prediction_changed_after_results")
        else ""
    )
    lines = [f"{changed}**{check['verdict']}**: {check['prediction']['metric']} "
             f"{check['prediction']['direction']} by at least {check['prediction']['at_least']:g}"]  # fmt: skip
    for c in check["comparisons"]:
        lines.append(f"- {c['b']} vs {c['a']}: {c['sentence']}")
    lines.append(f"\n_Rule_: {check['rule']}.")
    return "\n".join(lines)


def _pm(ms: dict[str, Any], digits: int = 4) -> str:
    if ms["mean"] is None:
        return "—"
    if ms["std"] is None:
        return f"{ms['mean']:.{digits}f}"
    return f"{ms['mean']:.{digits}f} ± {ms['std']:.{digits}f}"


def _num(v, signed: bool = False) -> str:
    return "—" if v is None else (f"{v:+.4f}" if signed else f"{v:.4f}")

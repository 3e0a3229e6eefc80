"""``build_report(runs, out_html)``: one self-contained HTML file from run directories.

Reads runs only through ``tailtune.runs.read_run``; every figure is a PNG data URI and the CSS is
inline, so the file opens offline and can be mailed as is.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import pandas as pd

from tailtune._atomic import write_text
from tailtune.errors import DataError
from tailtune.evaluation.diagnose import compare_runs, diagnose_run
from tailtune.evaluation.errors import error_report
from tailtune.evaluation.noise import noise_report, paired_bootstrap_runs
from tailtune.evaluation.splits import pick_split, shared_split, split_model, split_name
from tailtune.evaluation.tiers import recorded_rule
from tailtune.report import plots
from tailtune.report.sections import advice_section, headline, refit_card
from tailtune.report.terminal import cascade_figures
from tailtune.runs import Run, read_run

__all__ = ["build_report", "report_context"]


def build_report(
    run_paths,
    out_html: str | Path,
    *,
    title: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    n_hard: int = 10,
    split: str | None = None,
) -> Path:
    """Write the HTML report for one or more runs to ``out_html`` and return its path.

    With several runs the first is the baseline: the comparison table gives every other run's
    difference to it with a paired-bootstrap interval, marked meaningful or within noise.
    ``split`` is the split the per-class, noise and error sections read (None: test when the
    run has it, else val); several runs are compared on the split they share.
    """
    import jinja2

    runs = [r if isinstance(r, Run) else read_run(r) for r in _as_list(run_paths)]
    if not runs:
        raise DataError("report: no run directories given")
    ctx = report_context(runs, n_boot=n_boot, seed=seed, n_hard=n_hard, split=split)
    ctx["title"] = title or ("tailtune report: " + ", ".join(r.name for r in runs))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(pct=_pct, f3=_f3, signed=_signed)
    out = Path(out_html)
    # Written beside the target and renamed, so an interrupted build never leaves half a report.
    return write_text(out, env.get_template("report.html").render(**ctx))


def report_context(
    runs: list[Run],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    n_hard: int = 10,
    split: str | None = None,
) -> dict:
    """Everything the template shows, as plain values (also handy for tests)."""
    split = shared_split(runs, split) if len(runs) > 1 else pick_split(runs[0], split)
    sections = [_run_section(r, i, split, n_boot, seed, n_hard) for i, r in enumerate(runs, 1)]
    first = runs[0]
    labels = first.labels
    ctx: dict[str, Any] = {
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "runs": sections,
        "data": _data_section(first, labels),
        "comparison": _comparison(runs, sections, split, n_boot, seed) if len(runs) > 1 else None,
        "n_boot": n_boot,
        "split": split,
        "split_name": split_name(split),
    }
    return ctx


def _run_section(
    run: Run, index: int, split: str, n_boot: int, seed: int, n_hard: int
) -> dict[str, Any]:
    noise = noise_report(run, split=split, n_boot=n_boot, seed=seed)
    errs = error_report(run, split=split, n_hard=n_hard)
    metrics = run.metrics.get(split, {})
    name = split_name(split)
    diag, curves = None, None
    if run.history:
        diag = diagnose_run(run, split=split)
        curves = plots.training_curves(run.history, _best_checkpoint(run))
    labels = run.labels
    dest = errs.destinations
    return {
        "name": run.name,
        "backend": run.metrics.get("backend") or run.config.get("model", {}).get("backend"),
        "model": run.metrics.get("model") or run.config.get("model", {}).get("name"),
        "train_size": run.metrics.get("train_size"),
        "timing": run.metrics.get("timing", {}),
        "cascade": cascade_figures(run.metrics.get("info")),
        "hierarchy": _hierarchy_section(metrics.get("hierarchy"), run.metrics.get("info")),
        "metrics": metrics,
        "split_model": split_model(run, split),
        "headline": headline(run, split, noise.ci, n_boot=n_boot, seed=seed),
        "refit": refit_card(run),
        "advice": advice_section(run, index),
        "tiers_rule": recorded_rule(run.labels),
        "ci": noise.ci,
        "mdd": noise.mdd,
        "support": noise.support,
        "diagnosis": diag.to_dict() if diag else None,
        "curves": curves,
        "tiers": errs.tiers.to_dict("records"),
        "pairs": errs.pairs.to_dict("records"),
        "destinations": dest,
        "hardest": errs.hardest.to_dict("records"),
        "spearman": errs.f1_count["spearman"],
        "plots": {
            "support": plots.support_histogram(
                noise.support["histogram"], noise.support["few"], name
            ),
            "f1_hist": plots.f1_histogram(errs.f1_hist),
            "f1_count": plots.f1_vs_count(
                errs.f1_count["points"], labels.get("tail_max"), labels.get("head_min"), name
            ),
            "confusion": plots.confusion_top(errs.confusion, 15),
        },
        "_tiers_frame": errs.tiers,
    }


def _hierarchy_section(h: dict | None, info: dict | None) -> dict[str, Any] | None:
    """Per-level rows, hP/hR/hF1, sibling vs wrong-branch mistakes, back-off and the rule,
    for a run whose labels are paths (None otherwise)."""
    if not h:
        return None
    from tailtune.report.hierarchy import hierarchy_rows

    info = info or {}
    return {
        "rows": hierarchy_rows(h),
        "hierarchical": h.get("hierarchical") or {},
        "errors": h.get("errors") or {},
        "backoff": h.get("backoff"),
        "strategy": info.get("strategy"),
        "per": info.get("per"),
        "rule": info.get("backoff"),
    }


def _data_section(run: Run, labels: dict) -> dict[str, Any] | None:
    counts = labels.get("train_counts") or {}
    if not counts:
        return None
    tiers = labels.get("tiers") or {}
    values = sorted(counts.values(), reverse=True)
    by_tier = {t: sum(1 for c in counts if tiers.get(c) == t) for t in ("head", "mid", "tail")}
    return {
        "n_classes": len(counts),
        "train_size": sum(values),
        "largest": values[0],
        "smallest": values[-1],
        "ratio": values[0] / max(values[-1], 1),
        "by_tier": by_tier,
        "head_min": labels.get("head_min"),
        "tail_max": labels.get("tail_max"),
        "tiers_rule": recorded_rule(labels),
        "plot": plots.class_distribution(
            counts, tiers, labels.get("head_min"), labels.get("tail_max")
        ),
    }


def _comparison(
    runs: list[Run], sections: list[dict], split: str, n_boot: int, seed: int
) -> dict[str, Any]:
    base = runs[0]
    rows = []
    for run, sec in zip(runs, sections, strict=True):
        row = {"name": run.name, "section": sec, "paired": None, "note": None}
        if run is not base:
            try:
                row["paired"] = paired_bootstrap_runs(
                    base, run, split=split, n_boot=n_boot, seed=seed
                )
            except DataError as exc:
                row["note"] = str(exc)
        rows.append(row)
    histories = {r.name: r.history for r in runs if r.history}
    return {
        "baseline": base.name,
        "rows": rows,
        "flags": compare_runs(runs, split=split),
        "curves": plots.overlaid_curves(histories) if histories else None,
        "tiers": plots.tier_bars({s["name"]: s["_tiers_frame"] for s in sections}),
    }


def _best_checkpoint(run: Run) -> float | None:
    """The checkpoint the loop kept (``info.best_step``), else best macro F1, else lowest val loss."""
    h = pd.DataFrame(run.history)
    x = "epoch" if "epoch" in h and h["epoch"].notna().all() else "step"
    best_step = (run.metrics.get("info") or {}).get("best_step")
    if best_step is not None and "step" in h and (h["step"] == best_step).any():
        return float(h.loc[h["step"] == best_step, x].iloc[0])
    for col, pick in (("macro_f1", "idxmax"), ("val_loss", "idxmin")):
        if col in h and h[col].notna().any():
            return float(h.loc[getattr(h[col].astype(float), pick)(), x])
    return None


def _as_list(paths) -> list:
    return [paths] if isinstance(paths, (str, Path, Run)) else list(paths)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * float(v):.1f}%"


def _f3(v) -> str:
    return "–" if v is None or v != v else f"{float(v):.3f}"


def _signed(v, digits: int = 3) -> str:
    return "–" if v is None else f"{float(v):+.{digits}f}"

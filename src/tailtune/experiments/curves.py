"""Scaling curves with seed error bars: metric against training-set size (with tokens seen and
the tokens-per-trainable-parameter ratio when recorded) or against parameter count (where a
long-tail task can stay flat as models grow), or simply against the varied value."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from tailtune.experiments.plan import value_label

__all__ = ["DATA_FIELDS", "MODEL_FIELDS", "curve_table", "plot_curves"]

DATA_FIELDS = (
    "data.subsample",
    "data.train_subsample",
    "data.train_fraction",
    "data.subset_per_class",
    "data.synthetic_scale",
)
MODEL_FIELDS = ("model.name",)
_PARAM_KEYS = ("total_params", "params", "n_params", "trainable_params")


def curve_table(record: dict[str, Any], metric: str = "macro_f1") -> pd.DataFrame:
    """One row per value: label, mean/std/n of ``metric``, mean training size, tokens seen,
    parameter count and tokens per trainable parameter (None where a run did not record it)."""
    rows = []
    for cell in record["result"]["cells"]:
        runs = cell["runs"]
        value = next(iter(cell["values"].values()))
        params = _mean([_first(r["info"], _PARAM_KEYS) for r in runs])
        trainable = _mean([r["info"].get("trainable_params") for r in runs])
        tokens = _mean([r["info"].get("tokens_seen") for r in runs])
        rows.append({
            "value": value, "label": value_label(value), **cell[metric],
            "train_size": _mean([r.get("train_size") for r in runs]), "tokens": tokens,
            "params": params, "trainable_params": trainable,
            "tokens_per_param": tokens / trainable if tokens and trainable else None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_curves(
    record: dict[str, Any], out_dir: str | Path, metric: str = "macro_f1"
) -> list[Path]:
    """Write ``curve.csv`` and the curve PNG fitting the varied field:
    ``data_scaling.png`` (x = training examples), ``model_scaling.png`` (x = parameters) or
    ``curve_<field>.png`` (x = the values)."""
    out_dir = Path(out_dir)
    field = next(iter(record["variable_changed"]["fields"]))
    table = curve_table(record, metric)
    csv = out_dir / "curve.csv"
    table.to_csv(csv, index=False)
    if field in DATA_FIELDS and table["train_size"].notna().all():
        x, xlabel, name, logx = "train_size", "training examples", "data_scaling.png", True
    elif field in MODEL_FIELDS and table["params"].notna().all() and (table["params"] > 0).all():
        x, xlabel, name, logx = "params", "parameters", "model_scaling.png", True
    else:
        numeric = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in table["value"]
        )
        x, xlabel, logx = ("value" if numeric else "label"), field, False
        name = f"curve_{field.replace('.', '_')}.png"
    return [csv, _plot(table, x, xlabel, metric, out_dir / name, logx, record["experiment"])]


def _plot(table, x, xlabel, metric, path: Path, logx: bool, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    if x != "label":  # the baseline may be listed first: draw the line in x order
        table = table.sort_values(x, kind="stable").reset_index(drop=True)
    xs = list(range(len(table))) if x == "label" else table[x].astype(float).tolist()
    yerr = table["std"].fillna(0).tolist()
    ax.errorbar(xs, table["mean"], yerr=yerr, marker="o", capsize=4)
    for xi, row in zip(xs, table.itertuples(), strict=True):
        note = row.label
        if row.tokens:  # how many tokens each trainable parameter saw
            note += f"\n{row.tokens:,.0f} tok" + (f", {row.tokens_per_param:.2g} tok/param" if row.tokens_per_param else "")  # fmt: skip
        ax.annotate(note, (xi, row.mean), textcoords="offset points", xytext=(4, 6), fontsize=7)
    if x == "label":
        ax.set_xticks(xs, table["label"])
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _first(d: dict[str, Any], keys) -> Any:
    return next((d[k] for k in keys if d.get(k) is not None), None)


def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return statistics.fmean(vals) if vals else None

"""Declared grids as heatmaps: rows × columns of the grid, cell = mean metric ± std over seeds.

A labels × samples grid: rows = number of labels, columns = samples per class, one panel per model
(a third grid field becomes the panels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tailtune.experiments.plan import value_label

__all__ = ["grid_table", "plot_grid", "plot_heatmap"]


def grid_table(record: dict[str, Any], metric: str = "macro_f1") -> pd.DataFrame:
    """One row per grid cell: the varied fields' values, then mean, std and n of ``metric``."""
    rows = []
    for cell in record["result"]["cells"]:
        ms = cell.get(metric, {"mean": None, "std": None, "n": 0})
        rows.append({**{k: value_label(v) for k, v in cell["values"].items()}, **ms})
    return pd.DataFrame(rows)


def plot_grid(record: dict[str, Any], out_dir: str | Path, metric: str = "macro_f1") -> list[Path]:
    """Write ``grid.csv`` and ``heatmap_<metric>.png`` (plus accuracy when the metric differs)."""
    out_dir = Path(out_dir)
    fields = list(record["variable_changed"]["fields"])
    table = grid_table(record, metric)
    csv = out_dir / "grid.csv"
    table.to_csv(csv, index=False)
    paths = [csv]
    for m in dict.fromkeys([metric, "accuracy"]):
        paths.append(plot_heatmap(grid_table(record, m), fields, m, out_dir / f"heatmap_{m}.png",
                                  orders=record["variable_changed"]["fields"]))  # fmt: skip
    return paths


def plot_heatmap(
    table: pd.DataFrame,
    fields: list[str],
    metric: str,
    path: str | Path,
    orders: dict[str, list[Any]] | None = None,
) -> Path:
    """Heatmap of ``table`` (from :func:`grid_table`): the last two fields are rows and columns,
    a third (if any) makes one panel per value; cells read ``mean ± std``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    *panel_fields, row_f, col_f = fields
    orders = {k: [value_label(v) for v in vs] for k, vs in (orders or {}).items()}
    row_vals = orders.get(row_f) or list(dict.fromkeys(table[row_f]))
    col_vals = orders.get(col_f) or list(dict.fromkeys(table[col_f]))
    columns = [table[f] for f in panel_fields]
    panels = list(dict.fromkeys(zip(*columns, strict=True))) if panel_fields else [()]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(1.2 + 1.5 * len(col_vals) * len(panels), 1 + 0.8 * len(row_vals)),
        squeeze=False,
    )  # fmt: skip
    for ax, panel in zip(axes[0], panels, strict=True):
        sub = table
        for f, v in zip(panel_fields, panel, strict=True):
            sub = sub[sub[f] == v]
        grid = sub.pivot_table(index=row_f, columns=col_f, values="mean", aggfunc="first")
        std = sub.pivot_table(index=row_f, columns=col_f, values="std", aggfunc="first")
        grid = grid.reindex(index=row_vals, columns=col_vals)
        std = std.reindex(index=row_vals, columns=col_vals)
        im = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", vmin=0, aspect="auto",
                       vmax=None if metric == "zero_f1" else 1)  # fmt: skip
        for i in range(len(row_vals)):
            for j in range(len(col_vals)):
                m, s = grid.iat[i, j], std.iat[i, j]
                if pd.isna(m):
                    continue
                txt = f"{m:.3f}" + ("" if pd.isna(s) else f"\n± {s:.3f}")
                ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                        color="white" if m < 0.6 else "black")  # fmt: skip
        ax.set_xticks(range(len(col_vals)), col_vals)
        ax.set_yticks(range(len(row_vals)), row_vals)
        ax.set_xlabel(col_f)
        if ax is axes[0][0]:  # panels share rows: one label
            ax.set_ylabel(row_f)
        title = ", ".join(f"{f}={v}" for f, v in zip(panel_fields, panel, strict=True))
        ax.set_title(title or f"{metric} (mean ± std over seeds)", fontsize=9)
    fig.colorbar(im, ax=axes[0].tolist(), label=metric)
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path

"""Report figures as embedded PNG data URIs (matplotlib, Agg; nothing fetched at view time).

Legibility rules: every axis labelled, log scales where counts span decades, and never more
tick labels than fit (113 classes are drawn as ranks, or as the top N plus an aggregated rest).
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd

__all__ = [
    "TIER_COLORS",
    "class_distribution",
    "training_curves",
    "overlaid_curves",
    "support_histogram",
    "f1_histogram",
    "f1_vs_count",
    "confusion_top",
    "tier_bars",
]

TIER_COLORS = {"head": "#1f77b4", "mid": "#2ca02c", "tail": "#d62728"}
RUN_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _log_if_wide(counts) -> bool:
    """Log scale only where counts span more than a decade and a bit (x20): on flat data a
    log axis shows nothing but awkward 2×10¹ ticks."""
    c = np.asarray([v for v in counts if v > 0], dtype=float)
    return bool(c.size) and c.max() / c.min() >= 20


def _short(label: str, n: int = 32) -> str:
    label = str(label)
    return label if len(label) <= n else label[: n - 1] + "…"


def class_distribution(
    train_counts: dict, tiers: dict, head_min: int | None, tail_max: int | None
) -> str:
    """Training examples per class, sorted, on a log axis; bars coloured by tier, and the tier
    thresholds drawn when the tiers have them (a data-driven rule has none: colours only)."""
    plt = _plt()
    items = sorted(train_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    counts = np.array([max(v, 0) for _, v in items], dtype=float)
    colors = [TIER_COLORS.get(tiers.get(k, "tail"), "#777") for k, _ in items]
    fig, ax = plt.subplots(layout="constrained", figsize=(9, 3.4))
    ax.bar(np.arange(1, len(items) + 1), np.maximum(counts, 0.8), color=colors, width=0.9)
    log = _log_if_wide(counts)
    if log:
        ax.set_yscale("log")
    for y, name in ((head_min, "head ≥ {:,}"), (tail_max, "tail < {:,}")):
        if y is None:
            continue
        name = name.format(y)
        ax.axhline(y, color="#555", lw=0.8, ls="--")
        ax.text(len(items) + 0.5, y * 1.05, name, va="bottom", ha="right", fontsize=8, color="#333")
    ax.set_xlabel(f"class rank (1 = largest of {len(items)})")
    ax.set_ylabel("training examples" + (" (log)" if log else ""))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in TIER_COLORS.values()]
    n_by = {t: sum(1 for k, _ in items if tiers.get(k) == t) for t in TIER_COLORS}
    # inside, top right: bars fall from left to right, so that corner is free
    ax.legend(handles, [f"{t} ({n_by[t]})" for t in TIER_COLORS], frameon=False,
              loc="upper right", title="tier (classes)", fontsize=8, title_fontsize=8)  # fmt: skip
    ax.set_xlim(0, len(items) + 1)
    return _uri(fig)


def training_curves(history: list[dict], best_x: float | None = None) -> str:
    """Losses (left) and accuracy / macro F1 (right) per evaluation; the best checkpoint marked."""
    plt = _plt()
    h = pd.DataFrame(history)
    x = "epoch" if "epoch" in h and h["epoch"].notna().all() else "step"
    fig, (a1, a2) = plt.subplots(1, 2, layout="constrained", figsize=(10, 3.4))
    for col, color, label in (
        ("train_loss", "#1f77b4", "train loss"),
        ("val_loss", "#d62728", "val loss"),
    ):
        if col in h and h[col].notna().any():
            a1.plot(h[x], h[col], "o-", color=color, label=label, ms=4)
    for col, color, label in (
        ("accuracy", "#7f7f7f", "accuracy"),
        ("macro_f1", "#2ca02c", "macro F1"),
    ):
        if col in h and h[col].notna().any():
            a2.plot(h[x], h[col], "o-", color=color, label=label, ms=4)
    for ax, ylab in ((a1, "loss"), (a2, "validation score")):
        if best_x is not None:
            ax.axvline(best_x, color="#ff7f0e", ls=":", lw=1.5, label=f"best ({x} {best_x:g})")
        ax.set_xlabel(x)
        ax.set_ylabel(ylab)
        ax.legend(frameon=False, fontsize=8)
    return _uri(fig)


def overlaid_curves(histories: dict[str, list[dict]]) -> str:
    """Validation loss and macro F1 of several runs on shared axes."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, layout="constrained", figsize=(11, 3.6))
    x = "epoch"
    for i, (name, hist) in enumerate(histories.items()):
        h = pd.DataFrame(hist)
        x = "epoch" if "epoch" in h and h["epoch"].notna().all() else "step"
        c = RUN_COLORS[i % len(RUN_COLORS)]
        if "val_loss" in h:
            a1.plot(h[x], h["val_loss"], "o-", color=c, ms=3, label=_short(name, 28))
        if "train_loss" in h:
            a1.plot(h[x], h["train_loss"], "--", color=c, lw=1, alpha=0.6)
        if "macro_f1" in h:
            a2.plot(h[x], h["macro_f1"], "o-", color=c, ms=3, label=_short(name, 28))
    a1.set_ylabel("loss (solid: val, dashed: train)")
    a2.set_ylabel("validation macro F1")
    for ax in (a1, a2):
        ax.set_xlabel(x)
        ax.legend(frameon=False, fontsize=8)
    return _uri(fig)


def support_histogram(histogram: list[dict], few: int = 5, split: str = "validation") -> str:
    """Classes per support bin of the ``split`` examples; bins at or below ``few`` in red."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3))
    names = [h["bin"] for h in histogram]
    vals = [h["n_classes"] for h in histogram]
    low = [_bin_low(n) <= few for n in names]
    bars = ax.bar(names, vals, color=["#d62728" if lo else "#1f77b4" for lo in low])
    ax.bar_label(bars, fontsize=8)
    ax.set_xlabel(f"{split} examples per class")
    ax.set_ylabel("classes")
    ax.set_title(f"red: ≤ {few} examples (F1 is close to a coin flip)", fontsize=9)
    return _uri(fig)


def f1_histogram(hist: pd.DataFrame) -> str:
    """Classes per F1 bin, exact zeros as their own red bar (the zero-F1 spike of a long tail)."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3))
    labels = ["0"] + [f"{hi:.1f}" for hi in hist["high"].iloc[1:]]
    colors = ["#d62728"] + ["#1f77b4"] * (len(hist) - 1)
    bars = ax.bar(range(len(hist)), hist["n_classes"], color=colors)
    ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(hist)), labels)
    ax.set_xlabel("per-class F1 (bin upper edge; first bar: exactly 0)")
    ax.set_ylabel("classes")
    return _uri(fig)


def f1_vs_count(
    points: pd.DataFrame,
    tail_max: int | None = None,
    head_min: int | None = None,
    split: str = "validation",
) -> str:
    """Per-class F1 on ``split`` against training count (log x), coloured by tier."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3.4))
    pts = points.dropna(subset=["train_count"])
    log = _log_if_wide(pts["train_count"].astype(float))
    for tier, color in TIER_COLORS.items():
        sel = pts[pts["tier"] == tier]
        ax.scatter(np.maximum(sel["train_count"].astype(float), 1), sel["f1"], s=18, alpha=0.75,
                   color=color, label=f"{tier} ({len(sel)})")  # fmt: skip
    if log:
        ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    for v in (tail_max, head_min):
        if v and (log or lo <= v <= hi):  # on a linear axis, only thresholds inside the data
            ax.axvline(v, color="#999", ls="--", lw=0.8)
    ax.set_xlabel("training examples" + (" (log)" if log else ""))
    ax.set_ylabel(f"{split} F1")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(frameon=False, fontsize=8)
    return _uri(fig)


def confusion_top(confusion: pd.DataFrame, n: int = 15) -> str:
    """Row-normalised confusion of the ``n`` classes with the most errors (as gold or as
    prediction, ties by support) plus an aggregated "rest".

    Picking by errors rather than by size shows where the confusion is on any data set: on
    flat data the largest classes are an arbitrary pick, on a long tail they are mostly
    the ones with the most errors anyway.
    """
    plt = _plt()
    m = confusion.to_numpy(dtype=float)
    support = m.sum(axis=1)
    off = m - np.diag(np.diag(m))
    errors = off.sum(axis=1) + off.sum(axis=0)
    top = np.lexsort((-support, -errors))[: min(n, len(support))]
    rest = np.setdiff1d(np.arange(len(support)), top)
    blocks = [m[np.ix_([i], top)].ravel() for i in top]
    rows = [np.append(b, m[i, rest].sum()) for b, i in zip(blocks, top, strict=True)]
    names = [_short(confusion.index[i], 30) for i in top]
    if len(rest):
        rows.append(np.append(m[np.ix_(rest, top)].sum(axis=0), m[np.ix_(rest, rest)].sum()))
        names_r = names + [f"rest ({len(rest)} classes)"]
    else:
        rows = [r[:-1] for r in rows]
        names_r = names
    mat = np.vstack(rows)
    norm = mat / np.maximum(mat.sum(axis=1, keepdims=True), 1)
    size = 0.42 * len(names_r) + 3.0
    fig, ax = plt.subplots(layout="constrained", figsize=(size + 1.2, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names_r)), names_r, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(names_r)), names_r, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    fig.colorbar(im, ax=ax, fraction=0.04, label="share of gold row")
    return _uri(fig)


def tier_bars(per_run: dict[str, pd.DataFrame]) -> str:
    """Mean F1 per tier, one bar group per tier, one bar per run."""
    plt = _plt()
    fig, ax = plt.subplots(layout="constrained", figsize=(7, 3))
    k = len(per_run)
    width = 0.8 / max(k, 1)
    for i, (name, t) in enumerate(per_run.items()):
        t = t.set_index("tier").reindex(list(TIER_COLORS))
        vals = t["mean_f1"].astype(float).fillna(0).to_numpy()
        ax.bar(np.arange(3) + (i - (k - 1) / 2) * width, vals, width, label=_short(name, 28),
               color=RUN_COLORS[i % len(RUN_COLORS)])  # fmt: skip
    ax.set_xticks(range(3), list(TIER_COLORS))
    ax.set_xlabel("frequency tier (by training count)")
    ax.set_ylabel("mean F1")
    ax.legend(frameon=False, fontsize=8)
    return _uri(fig)


def _bin_low(name: str) -> float:
    name = name.lstrip(">")
    try:
        return float(name.split("-")[0])
    except ValueError:
        return math.inf

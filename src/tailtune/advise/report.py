"""The advice in pictures: learning curves of the classes with the largest predicted gain, and
the HTML fragment the ``tailtune report`` page shows (self-contained: the PNG is a data URI).

Each panel: the class's validation F1 in every fraction run (one marker per seed), the fitted
curve a − b·n^(−c), its 95% band (percentiles of the bootstrap replicates' curves), the current
training count (dotted) and the count after the plan (dashed).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_curves", "advice_fragment", "find_advice"]

PANELS = 6


def plot_curves(curves, data: dict[str, Any], path: str | Path, panels: int = PANELS) -> Path:
    """Write the curves of the ``panels`` classes with the largest predicted gain to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_label = {cv.label: cv for cv in curves}
    rows = [r for r in data["plan"]["allocations"] if r["label"] in by_label]
    rows = sorted(rows, key=lambda r: -r["gain"])[:panels]
    if not rows:  # no allocation (flat curves, zero budget): show the lowest-F1 measurable ones
        fitted = sorted((cv for cv in curves if cv.fit), key=lambda cv: cv.fit.predict(cv.n_train))
        rows = [{"label": cv.label, "add": 0} for cv in fitted[:panels]]
    cols = min(3, max(1, len(rows)))
    nrows = max(1, int(np.ceil(len(rows) / cols)))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax in axes.ravel()[len(rows) :]:
        ax.axis("off")
    for ax, row in zip(axes.ravel(), rows, strict=False):
        _panel(ax, by_label[row["label"]], int(row["add"]))
    fig.suptitle("Per-class learning curves: F1(n) = a − b·n^(−c), 95% band", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    if rows:  # one legend for all panels, below them, so it hides no points
        handles, labels = axes.ravel()[0].get_legend_handles_labels()
        labels = [lab if not lab.startswith("+") else "after the plan" for lab in labels]
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7,
                   frameon=False)  # fmt: skip
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _panel(ax, cv, add: int) -> None:
    from tailtune.advise.curves import power_law

    hi = max(cv.n_train + add, cv.n_train) * 1.15
    grid = np.linspace(max(1.0, cv.counts.min() * 0.8), hi, 120)
    for s in np.unique(cv.seeds):
        sel = cv.seeds == s
        ax.plot(cv.counts[sel], cv.f1[sel], "o", ms=4, alpha=0.7, label=f"seed {s}")
    if cv.boot is not None and len(cv.boot):
        bands = power_law(np.maximum(grid[None, :], 1.0), cv.boot[:, :1], cv.boot[:, 1:2],
                          cv.boot[:, 2:3])  # fmt: skip
        lo, up = np.percentile(bands, [2.5, 97.5], axis=0)
        ax.fill_between(grid, lo, up, color="tab:blue", alpha=0.15, label="95% band")
    ax.plot(grid, cv.curve.predict(grid), "-", color="tab:blue", label="fit")
    ax.axvline(cv.n_train, ls=":", color="grey", label="now")
    if add:
        ax.axvline(cv.n_train + add, ls="--", color="tab:green", label=f"+{add}")
    name = cv.label if len(cv.label) <= 38 else cv.label[:36] + "…"
    f = cv.curve
    ax.set_title(f"{name}\na={f.a:.2f} b={f.b:.2f} c={f.c:.2f} ({f.kind}), val {cv.support}",
                 fontsize=8)  # fmt: skip
    ax.set_xlabel("training examples", fontsize=8)
    ax.set_ylabel("validation F1", fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.tick_params(labelsize=7)


def find_advice(path: str | Path) -> Path | None:
    """The advice folder of ``path``: itself when it holds advice.json, else ``path/advice``."""
    p = Path(path)
    for cand in (p, p / "advice"):
        if (cand / "advice.json").is_file():
            return cand
    return None


def advice_fragment(path: str | Path) -> str | None:
    """An HTML ``<section>`` with the plan and the curves figure, or None when there is no advice.

    ``path`` is a run directory (its ``advice/`` folder) or an advice folder.
    """
    folder = find_advice(path)
    if folder is None:
        return None
    d = json.loads((folder / "advice.json").read_text(encoding="utf-8"))
    e = html.escape
    p = d["plan"]
    rows = "".join(
        f"<tr><td>{e(r['label'])}</td><td>{e(r['tier'])}</td><td class='num'>{r['n_train']:,}</td>"
        f"<td class='num'>{r['add']:,}</td><td class='num'>{r['f1_now']:.3f}</td>"
        f"<td class='num'>{r['f1_after']:.3f}</td><td class='num'>{r['gain']:+.3f}</td>"
        f"<td class='num'>{_iv(r)}</td></tr>"
        for r in p["allocations"][:15]
    )
    alts = "".join(
        f"<tr><td>{e(k)}</td><td class='num'>{a['predicted_gain']:+.4f}</td>"
        f"<td class='num'>{_iv(a)}</td></tr>"
        for k, a in d["alternatives"].items()
    )
    merges = "".join(
        f"<tr><td>{e(c['label'])}</td><td>{e(c['other'])}</td><td class='num'>{c['share']:.0%}</td>"
        f"<td>{e(c['why'])}</td><td class='num'>{c['before']:.4f} → {c['after']:.4f}</td></tr>"
        for c in d.get("confusable") or []
    )
    img = ""
    if d.get("figure") and (folder / d["figure"]).is_file():
        b64 = base64.b64encode((folder / d["figure"]).read_bytes()).decode()
        img = (f"<figure><img src='data:image/png;base64,{b64}' alt='per-class learning curves'>"
               "<figcaption>Classes with the largest predicted gain: validation F1 per fraction "
               "run and seed, the fitted curve, its 95% bootstrap band, now (dotted) and after "
               "the plan (dashed).</figcaption></figure>")  # fmt: skip
    merge_html = ""
    if merges:
        merge_html = ("<h3>Confusable pairs</h3><table><tr><th>class</th><th>errors go to</th>"
                      f"<th>share</th><th>why</th><th>macro F1 if merged</th></tr>{merges}</table>")  # fmt: skip
    return (
        "<section id='advice'><h2>Where more labels help</h2>"
        f"<p>Plan for {d['budget']:,} new examples: predicted macro F1 gain "
        f"<b>{p['predicted_gain']:+.4f}</b> (95% interval {_iv(p)}), from "
        f"{d['runs']['n']} learning-curve runs of the <code>{e(str(d['backend']))}</code> "
        "backend.</p>"
        "<table><tr><th>class</th><th>tier</th><th>train</th><th>add</th><th>F1 now</th>"
        f"<th>F1 after</th><th>gain</th><th>95% interval</th></tr>{rows}</table>"
        "<h3>Naive allocations, same budget (predicted)</h3><table><tr><th>allocation</th>"
        f"<th>gain</th><th>95% interval</th></tr>{alts}</table>{merge_html}{img}</section>"
    )


def _iv(r: dict) -> str:
    return "–" if r.get("low") is None else f"[{r['low']:+.3f}, {r['high']:+.3f}]"

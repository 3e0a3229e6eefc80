"""Speed/quality frontier plots: macro F1 against fit + predict seconds, one labelled point a row.

``plot_frontier(rows, path, title)`` is what ``peers.py`` calls per data set. Run as a script, it
redraws one plot from tables already in the results file, several sections on one plot (a rerun
beside the first run), each section's rows labelled with its ``--tag``:

    python benchmarks/frontier.py --section "goemotions: peers" \
        --section "goemotions: SetFit rerun on one thread" --tag "" --tag " (1 thread)" \
        --skip-first-of 2 --out benchmarks/frontier_goemotions.png

The x of a row read back is its ``fit CPU s`` plus its ``predict s`` (wall: the tables keep no
predict CPU), so a redrawn plot says so on its axis. Labels are placed
greedily: each tries a ring of offsets around its point and takes the first whose box overlaps no
label or point already placed (the least-overlapping one when none is free), so that every row
stays readable without a layout package.
"""

from __future__ import annotations

from pathlib import Path

# Offsets (points) tried around a marker, nearest first.
_OFFSETS = [
    (dx * r, dy * r)
    for r in (1, 2, 3, 4)
    for dx, dy in ((6, 4), (6, -10), (-6, 4), (-6, -10), (0, 9), (0, -15), (10, -3), (-10, -3))
]


def plot_frontier(
    rows: list[dict],
    path: Path,
    title: str,
    xlabel: str = "fit + predict seconds (log scale; 2 shared cores)",
) -> Path | None:
    """Write the frontier PNG of ``rows`` (keys model, macro_f1, fit_s, predict_s) to ``path``;
    x is ``fit_s + predict_s`` (the caller may put CPU seconds there and say so in ``xlabel``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [
        (r["fit_s"] + r["predict_s"], r["macro_f1"], r["model"])
        for r in rows
        if r.get("macro_f1") is not None and r["fit_s"] == r["fit_s"]
    ]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    for x, y, label in pts:
        tt = label.startswith("tt:")
        ax.scatter(x, y, s=36, marker="o" if tt else "s", color="tab:blue" if tt else "tab:orange")
    ax.set_xscale("log")
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    ax.set_xlim(min(xs) / 2.5, max(xs) * 6)
    pad = max(0.02, (max(ys) - min(ys)) * 0.15)
    ax.set_ylim(min(ys) - pad, max(ys) + pad)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test macro F1")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.scatter([], [], marker="o", color="tab:blue", label="tailtune")
    ax.scatter([], [], marker="s", color="tab:orange", label="peer library")
    ax.legend(loc="lower right", fontsize=8)
    _place_labels(fig, ax, pts)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def _place_labels(fig, ax, pts) -> None:
    """Annotate each point at the first offset whose text box is free (display coordinates)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = []
    for x, y, _ in pts:  # markers are obstacles too
        px, py = ax.transData.transform((x, y))
        taken.append((px - 4, py - 4, px + 4, py + 4))
    axes_box = ax.get_window_extent(renderer)
    # Highest F1 first, so the rows that matter most get their nearest spot.
    for x, y, label in sorted(pts, key=lambda p: -p[1]):
        best, best_cost = None, None
        for dx, dy in _OFFSETS:
            text = ax.annotate(
                label,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=7,
                ha="left" if dx >= 0 else "right",
            )
            bb = text.get_window_extent(renderer)
            box = (bb.x0, bb.y0, bb.x1, bb.y1)
            cost = sum(_overlap(box, t) for t in taken)
            if bb.x0 < axes_box.x0 or bb.x1 > axes_box.x1 or bb.y1 > axes_box.y1:
                cost += 1e6  # outside the axes
            if best_cost is None or cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (text, box, dx, dy), cost
            else:
                text.remove()
            if cost == 0:
                break
        text, box, dx, dy = best
        if abs(dx) > 12 or abs(dy) > 16:  # far from its point: draw a leader line
            text.remove()
            text = ax.annotate(
                label,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=7,
                ha="left" if dx >= 0 else "right",
                arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.6},
            )
        taken.append(box)


def _overlap(a, b) -> float:
    """Area shared by two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def table_rows(text: str, section: str) -> list[dict]:
    """The rows (model, macro_f1, fit_s = fit CPU s, predict_s) of the first markdown table
    under the heading ``## section`` or ``### section`` of a results file."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip("#").strip() == section and
         line.startswith("#")), None)  # fmt: skip
    if start is None:
        raise SystemExit(f"error: no section '{section}' in the results file")
    rows, header = [], None
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if not line.startswith("|"):
            if header is not None:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(cells[0]) <= {"-"}:
            row = dict(zip(header, cells, strict=False))
            try:
                rows.append({"model": row["model"], "macro_f1": float(row["macro F1"]),
                             "fit_s": float(row["fit CPU s"]), "predict_s": float(row["predict s"])})  # fmt: skip
            except (KeyError, ValueError):
                continue  # a failed row (no figures)
    return rows


def main() -> None:
    """Redraw one frontier plot from sections of the results file."""
    import argparse

    ap = argparse.ArgumentParser(description="Redraw a frontier plot from results tables.")
    ap.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    ap.add_argument("--section", action="append", required=True, help="a heading's text")
    ap.add_argument("--tag", action="append", help="suffix of each section's labels")
    ap.add_argument("--skip-first-of", type=int, action="append", default=[],
                    help="drop the first row of this section (1-based; a repeated recipe row)")  # fmt: skip
    ap.add_argument("--title", default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    text = Path(args.results).read_text(encoding="utf-8")
    tags = args.tag or [""] * len(args.section)
    rows = []
    for i, (section, tag) in enumerate(zip(args.section, tags, strict=True), start=1):
        got = table_rows(text, section)
        if i in args.skip_first_of:
            got = got[1:]
        rows += [{**r, "model": r["model"] + tag} for r in got]
    title = args.title or f"{args.section[0]}: test macro F1 against fit CPU + predict seconds"
    plot_frontier(rows, Path(args.out), title,
                  xlabel="fit CPU seconds + predict wall seconds (log scale)")  # fmt: skip
    print(f"{len(rows)} rows -> {args.out}")


if __name__ == "__main__":
    main()

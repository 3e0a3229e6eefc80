"""The CLI's consoles and the printing helpers several command modules share.

Markup is off on both consoles: every message, file name, label and error prints exactly as
written (rich would otherwise eat ``[neural]`` in ``pip install 'tailtune[neural]'`` as a style
tag). Styles are applied explicitly with :func:`styled` instead of inline ``[bold]`` tags.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = [
    "comparison_table",
    "console",
    "err_console",
    "fmt",
    "print_error",
    "print_frame",
    "print_load_report",
    "print_metrics_table",
    "print_report",
    "print_run_summary",
    "rows_table",
    "styled",
]

console = Console(markup=False, highlight=False)
err_console = Console(stderr=True, markup=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of literal text; a ``(text, style)`` part is shown in that rich style."""
    return Text.assemble(*parts)


def print_error(message: object) -> None:
    """``error: <message>`` as one line on stderr, printed literally."""
    line = " ".join(str(message).split("\n"))
    # a file name with bytes that are not UTF-8 reaches Python as lone surrogates, which no
    # terminal encoding takes: show them escaped (\udcff) rather than fail while reporting
    line = line.encode("utf-8", "backslashreplace").decode("utf-8")
    err_console.print(styled(("error:", "bold red"), " ", line), soft_wrap=True)


def fmt(x, digits: int = 3) -> str:
    """A metric with ``digits`` decimals, ``-`` when absent."""
    return "-" if x is None else f"{x:.{digits}f}"


def print_load_report(report: dict) -> None:
    """What loading did: rows read and every removed row (empty text/label), by line."""
    from tailtune.data import summary_lines

    for line in summary_lines(report):
        console.print(styled(("load:", "yellow"), " ", line))


def print_report(title: str, report) -> None:
    """A step's report (a dict or dataclass) as one JSON line, cut at 800 characters."""
    if dataclasses.is_dataclass(report):
        report = dataclasses.asdict(report)
    text = json.dumps(report, default=str)
    console.print(styled((f"{title}:", "bold"), " ", text[:800]))


def print_metrics_table(by_split: dict) -> None:
    """Accuracy, macro/weighted F1, balanced accuracy, zero-F1 classes per split; for label
    sets the set figures under their own names (micro / macro / samples F1, subset accuracy,
    Hamming loss, zero-F1 labels)."""
    if any("samples_f1" in m for m in by_split.values()):
        table = Table("split", "micro F1", "macro F1", "samples F1", "subset acc.", "Hamming",
                      "zero-F1", "labels")  # fmt: skip
        for split, m in by_split.items():
            table.add_row(split, fmt(m["micro_f1"]), fmt(m["macro_f1"]), fmt(m["samples_f1"]),
                          fmt(m["subset_accuracy"]), fmt(m["hamming_loss"]), str(m["zero_f1"]),
                          str(m["n_classes"]))  # fmt: skip
        console.print(table)
        return
    table = Table("split", "accuracy", "macro F1", "weighted F1", "bal. acc.", "zero-F1", "classes")
    for split, m in by_split.items():
        table.add_row(
            split,
            fmt(m["accuracy"]),
            fmt(m["macro_f1"]),
            fmt(m["weighted_f1"]),
            fmt(m["balanced_accuracy"]),
            str(m["zero_f1"]),
            str(m["n_classes"]),
        )
    console.print(table)


def print_run_summary(path: Path) -> None:
    """The val/test metrics of a finished run, its tiers (and the rule that made them), where it is."""
    from tailtune.evaluation.tiers import TIERS, recorded_rule
    from tailtune.runs import read_run

    run = read_run(path)
    splits = {k: v for k, v in run.metrics.items() if k in ("val", "test")}
    print_metrics_table(splits)
    tiers = run.labels.get("tiers") or {}
    counts = run.labels.get("train_counts") or {}
    if tiers:
        table = Table("tier", "classes", "train ex./class", *(f"{s} mean F1" for s in splits))
        for t in TIERS:
            sizes = [int(counts[c]) for c, v in tiers.items() if v == t and c in counts]
            span = (
                "-"
                if not sizes
                else f"{min(sizes):,}" + (f"-{max(sizes):,}" if max(sizes) > min(sizes) else "")
            )
            table.add_row(
                t,
                str(sum(v == t for v in tiers.values())),
                span,
                *(fmt((m.get("tiers") or {}).get(t, {}).get("mean_f1")) for m in splits.values()),
            )
        console.print(table)
        console.print(f"tiers by training count: {recorded_rule(run.labels)}")
    from tailtune.report.hierarchy import print_hierarchy

    for split, m in splits.items():  # labels that are paths: every level, hF1, back-off
        print_hierarchy(m.get("hierarchy"), console, split)
    from tailtune.runs.clean import human_size
    from tailtune.runs.retention import disk_usage

    disk = disk_usage(path)
    parts = ", ".join(f"{k} {human_size(disk[k])}" for k in ("model", "checkpoints") if disk[k])
    console.print(
        f"run: {path} ({human_size(disk['total'])} on disk" + (f": {parts})" if parts else ")")
    )


def comparison_table(results: list[dict], title: str) -> Table:
    """Validation metrics and per-tier F1 of several runs (the quickstart's table)."""
    table = Table(title=title)
    # short headers that break at spaces, so that 80 columns show every word (no "accur…")
    for col in ("run", "acc.", "macro F1", "zero F1", "head F1", "mid F1", "tail F1", "fit s"):
        table.add_column(col, justify="left" if col == "run" else "right", no_wrap=col == "run")
    for r in results:
        m = r["metrics"]["val"]
        tiers = m.get("tiers", {})
        table.add_row(
            r["label"],
            fmt(m["accuracy"]),
            fmt(m["macro_f1"]),
            f"{m['zero_f1']}/{m['n_classes']}",
            *(fmt(tiers.get(t, {}).get("mean_f1")) for t in ("head", "mid", "tail")),
            f"{r['metrics']['timing']['fit_s']:.1f}",
        )
    return table


def rows_table(rows, header: bool = True, title: str | None = None) -> None:
    """Print rows (the first one the header, unless ``header`` is False) as a table."""
    rows = list(rows)
    table = Table(*rows[0], title=title) if header else Table(show_header=False, title=title)
    if not header:
        for _ in rows[0]:
            table.add_column()
    for row in rows[1:] if header else rows:
        table.add_row(*map(str, row))
    console.print(table)


# Columns that hold counts (stored as floats where a run lacks them).
_INT_COLUMNS = {"seed", "zero_f1", "train_size"}


def print_frame(frame, title: str | None = None) -> None:
    """A data frame as a table; paths fold onto several lines rather than being cut."""
    table = Table(title=title)
    for col in frame.columns:
        # a path is copied, not read: fold it onto several lines rather than cut it with "…"
        table.add_column(str(col), overflow="fold" if col in ("run_dir", "data_path") else None)
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v, str(c)) for v, c in zip(row, frame.columns, strict=True)))
    console.print(table)


def _cell(v, col: str = "") -> str:
    if v is None or (isinstance(v, float) and v != v):  # None or NaN: an empty cell
        return ""
    if isinstance(v, float):
        if col in _INT_COLUMNS and v.is_integer():
            return str(int(v))
        return f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)

"""Write the advice: ``advice.json`` (everything), ``advice.md`` (to read), the curves figure,
and the terminal tables (rich, with every cell literal text: label names are never markup)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tailtune._atomic import write_text

__all__ = ["write_advice", "render_markdown", "print_advice"]

SHOWN = 15  # rows of each table on the terminal and in advice.md


def write_advice(advice) -> list[Path]:
    """Write advice.json, advice.md and curves.png into ``advice.out_dir``; returns the paths."""
    from tailtune.advise.report import plot_curves

    out = Path(advice.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    png = out / "curves.png"
    try:
        plot_curves(advice.curves, advice.data, png)
        advice.data["figure"] = png.name
        files.append(png)
    except Exception as exc:  # a figure must never cost the advice
        advice.data["figure"] = None
        advice.data["figure_note"] = f"figure skipped: {type(exc).__name__}: {exc}"
    files.insert(0, _atomic(out / "advice.json", json.dumps(_plain(advice.data), indent=2) + "\n"))
    files.insert(1, _atomic(out / "advice.md", render_markdown(advice.data)))
    return files


def render_markdown(d: dict[str, Any]) -> str:
    """advice.md: the plan, the alternatives, confusable pairs, diagnoses, label issues."""
    p = d["plan"]
    lines = [
        f"# Labelling advice: {Path(d['source']).name}",
        "",
        f"Backend `{d['backend']}`, {d['n_train']:,} training / {d['n_val']:,} validation "
        f"examples, {d['n_classes']} classes; macro F1 now {d['macro_f1_now']:.4f} "
        f"(base run `{d['base_run']}`). Curves from {d['runs']['n']} runs: fractions "
        f"{', '.join(f'{f:g}' for f in d['fractions'])} x seeds "
        f"{', '.join(map(str, d['seeds']))}.",
        "",
        f"## Plan for {d['budget']:,} new examples",
        "",
        f"Predicted macro F1 gain **{_signed(p['predicted_gain'])}** "
        f"(95% interval {_interval(p)}), {p['spent']:,} examples placed.",
        "",
        "| class | tier | train now | add | F1 now (fit) | F1 after | gain | 95% interval |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in p["allocations"][:SHOWN]:
        lines.append(f"| {_md(r['label'])} | {r['tier']} | {r['n_train']:,} | {r['add']:,} | "
                     f"{r['f1_now']:.3f} | {r['f1_after']:.3f} | {_signed(r['gain'])} | "
                     f"{_interval(r)} |")  # fmt: skip
    if len(p["allocations"]) > SHOWN:
        lines.append(f"| … {len(p['allocations']) - SHOWN} more in advice.json | | | | | | | |")
    lines += ["", "Against the allocations a team would otherwise use (same budget, same curves):",
              "", "| allocation | predicted macro F1 gain | 95% interval |", "|---|---:|---|"]  # fmt: skip
    for name, alt in d["alternatives"].items():
        lines.append(f"| {name} | {_signed(alt['predicted_gain'])} | {_interval(alt)} |")
    if d["confusable"]:
        lines += ["", "## Confusable pairs: merge, or write a labelling guideline", "",
                  "| class | errors | to | share | why | macro F1 if merged |",
                  "|---|---:|---|---:|---|---:|"]  # fmt: skip
        for c in d["confusable"]:
            lines.append(f"| {_md(c['label'])} | {c['errors']} | {_md(c['other'])} | "
                         f"{c['share']:.0%} | {c['why']} | {c['before']:.4f} → "
                         f"{c['after']:.4f} |")  # fmt: skip
        m = d["merge_all"]
        lines += ["", f"All merges together: macro F1 {m['before']:.4f} → {m['after']:.4f} "
                  f"({m['n_classes_before']} → {m['n_classes_after']} classes; the run's own "
                  "predictions, relabelled, no retraining)."]  # fmt: skip
    if d.get("similar_names"):
        lines += ["", "## Label pairs with near-duplicate names", "",
                  "| label | label | name similarity | macro F1 if merged |", "|---|---|---:|---:|"]  # fmt: skip
        for c in d["similar_names"][:SHOWN]:
            lines.append(f"| {_md(c['label'])} | {_md(c['other'])} | {c['name_similarity']:.2f} | "
                         f"{c['before']:.4f} → {c['after']:.4f} |")  # fmt: skip
    lines += ["", "## Diagnosis per class", ""]
    counts: dict[str, int] = {}
    for c in d["classes"]:
        counts[c["diagnosis"]] = counts.get(c["diagnosis"], 0) + 1
    lines.append(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) + ".")
    lines += [
        "",
        "| class | tier | train | val | diagnosis | reason |",
        "|---|---|---:|---:|---|---|",
    ]
    for c in sorted(d["classes"], key=_order):
        lines.append(f"| {_md(c['label'])} | {c['tier']} | {c['n_train']:,} | {c['support']} | "
                     f"{c['diagnosis']} | {_md(c['reason'])} |")  # fmt: skip
    lines += ["", "## Likely label errors (validation, cleanlab)", ""]
    if d.get("label_issues"):
        lines += ["| id | gold | predicted | p(gold) | text |", "|---|---|---|---:|---|"]
        for r in d["label_issues"][:SHOWN]:
            lines.append(f"| {r['id']} | {_md(r['gold'])} | {_md(r['pred'])} | "
                         f"{r['gold_prob']:.3f} | {_md(r['text'][:120])} |")  # fmt: skip
    else:
        lines.append(d.get("label_issues_note") or "none listed")
    lines += ["", "## Rules", ""] + [f"- **{k}**: {v}" for k, v in d["rules"].items()]
    return "\n".join(lines) + "\n"


def print_advice(d: dict[str, Any], console=None) -> None:
    """The plan, confusable pairs and diagnosis counts as rich tables (literal text)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    p = d["plan"]
    t = Table(title=Text(f"Plan for {d['budget']:,} new examples: predicted macro F1 "
                         f"{_signed(p['predicted_gain'])} {_interval(p)}"))  # fmt: skip
    t.add_column("class", max_width=28, no_wrap=True, overflow="ellipsis")
    for col in ("add", "F1 now→after", "gain", "95% interval"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in p["allocations"][:SHOWN]:
        t.add_row(Text(r["label"]), Text(f"{r['add']:,}"),
                  Text(f"{r['f1_now']:.2f}→{r['f1_after']:.2f}"), Text(f"{r['gain']:+.3f}"),
                  Text(_interval(r, 2)))  # fmt: skip
    console.print(t)
    alt = Table(title=Text("Same budget, naive allocations (predicted)"))
    for col in ("allocation", "macro F1 gain", "95% interval"):
        alt.add_column(col)
    for name, a in d["alternatives"].items():
        alt.add_row(Text(name), Text(_signed(a["predicted_gain"])), Text(_interval(a)))
    console.print(alt)
    if d["confusable"]:
        c = Table(title=Text("Confusable pairs (merge what-if on the run's own predictions)"))
        c.add_column("class", max_width=22, no_wrap=True, overflow="ellipsis")
        c.add_column("errors go to", max_width=22, no_wrap=True, overflow="ellipsis")
        c.add_column("share", justify="right", no_wrap=True, min_width=5)
        c.add_column("merged macro F1", justify="right", no_wrap=True, min_width=15)
        for r in d["confusable"][:SHOWN]:
            c.add_row(Text(r["label"]), Text(r["other"]), Text(f"{r['share']:.0%}"),
                      Text(f"{r['before']:.3f}→{r['after']:.3f}"))  # fmt: skip
        console.print(c)
    if d.get("similar_names"):
        console.print(Text(f"{len(d['similar_names'])} label pairs with near-duplicate names: "
                           "see advice.md"))  # fmt: skip
    counts: dict[str, int] = {}
    for row in d["classes"]:
        counts[row["diagnosis"]] = counts.get(row["diagnosis"], 0) + 1
    console.print(Text("diagnosis: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))))
    if d.get("label_issues"):
        console.print(Text(f"{len(d['label_issues'])} likely label errors in validation "
                           "(cleanlab): see advice.md"))  # fmt: skip
    elif d.get("label_issues_note"):
        console.print(Text(d["label_issues_note"]))


def _order(c: dict) -> tuple:
    rank = ["confusable", "data-starved", "saturated low", "noise-limited", "ok"]
    return (rank.index(c["diagnosis"]) if c["diagnosis"] in rank else 9, -c["n_train"])


def _signed(v) -> str:
    return "–" if v is None else f"{float(v):+.4f}"


def _interval(r: dict, digits: int = 4) -> str:
    if r.get("low") is None:
        return "–"
    return f"[{r['low']:+.{digits}f}, {r['high']:+.{digits}f}]"


def _md(text: str) -> str:
    """A table cell: pipes escaped and newlines flattened, so a label cannot break the table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _plain(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _atomic(path: Path, text: str) -> Path:
    return write_text(path, text)

"""Terminal summaries (rich) of a diagnosis, a noise floor, an error analysis, a comparison."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["print_diagnosis", "print_noise", "print_errors", "print_comparison"]

_STYLE = {
    "well-trained": "green", "undertrained": "yellow", "overtrained": "yellow",
    "data-starved": "yellow", "not-learning": "red", "unstable": "red",
}  # fmt: skip


def print_diagnosis(diagnosis, name: str = "", console: Console | None = None) -> None:
    """Verdict, reasons, next step, and the evidence table of one ``Diagnosis``."""
    c = console or Console()
    style = _STYLE.get(diagnosis.verdict, "bold")
    best = f"  (best: {diagnosis.best_epoch})" if diagnosis.best_epoch is not None else ""
    c.print(
        f"[bold]{name}[/bold] " if name else "", f"[{style}]{diagnosis.verdict}[/]{best}", sep=""
    )
    for reason in diagnosis.reasons:
        c.print(f"  because {reason}")
    c.print(f"  next: {diagnosis.next_step}")
    t = Table("evidence", "value", box=None, pad_edge=False, show_header=False)
    for k, v in diagnosis.evidence.items():
        t.add_row(f"  {k}", str(v))
    c.print(t)


def print_noise(report, console: Console | None = None) -> None:
    """Support counts, bootstrap intervals, detectable difference, and the paired test if any."""
    c = console or Console()
    s, ci, mdd = report.support, report.ci, report.mdd
    c.print(
        f"[bold]{report.run}[/bold]  {report.split}: {s['n_examples']:,} examples, {s['n_classes']} classes"
    )
    c.print(
        f"  classes with ≤ {s['few']} examples: [bold]{s['n_few']}[/bold] ({s['share_few']:.1%} of the "
        f"macro average); exactly 1: [bold]{s['n_one']}[/bold]"
    )
    t = Table("metric", "value", "95% CI", "± half-width", "min. detectable Δ", title=None)
    for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        m = ci[key]
        t.add_row(label, f"{m['value']:.4f}", f"[{m['low']:.4f}, {m['high']:.4f}]",
                  f"{m['half_width']:.4f}", f"{mdd[key]:.4f}")  # fmt: skip
    c.print(t)
    hist = "  ".join(f"{h['bin']}:{h['n_classes']}" for h in s["histogram"])
    c.print(f"  support histogram (examples:classes)  {hist}")
    if report.paired:
        _print_paired(report.paired, c)


def print_errors(report, console: Console | None = None, max_text: int = 160) -> None:
    """Per-tier F1, tail-error destinations, top confused pairs and the hardest mistakes."""
    c = console or Console()
    c.print(f"[bold]{report.run}[/bold]  error analysis ({report.split})")
    t = Table("tier", "classes", "val ex.", "mean F1", "median F1", "zero-F1")
    for r in report.tiers.to_dict("records"):
        t.add_row(r["tier"], str(r["n_classes"]), str(r["support"]), _f(r["mean_f1"]),
                  _f(r["median_f1"]), str(r["zero_f1"]))  # fmt: skip
    c.print(t)
    d = report.destinations
    fam = f", same family {d['same_family']:.0%}" if d["same_family"] is not None else ""
    c.print(
        f"  {d['n_errors']} misclassified tail examples land in: head {d['shares']['head']:.0%}, "
        f"mid {d['shares']['mid']:.0%}, tail {d['shares']['tail']:.0%}{fam} → {d['story']}"
    )
    p = Table("gold", "predicted", "count", "share of gold", title="top confused pairs")
    for r in report.pairs.to_dict("records"):
        p.add_row(r["gold"], r["pred"], str(r["count"]), f"{r['share']:.0%}")
    c.print(p)
    h = Table("p(pred)", "gold", "predicted", "text", title="hardest mistakes")
    for r in report.hardest.to_dict("records"):
        text = str(r["text"]).replace("\n", " ")
        h.add_row(
            f"{r['prob']:.3f}",
            r["gold"],
            r["pred"],
            text[:max_text] + ("…" if len(text) > max_text else ""),
        )
    c.print(h)
    if report.issues is not None and len(report.issues):
        c.print(
            f"  cleanlab flags {len(report.issues)} likely label issues (out-of-sample probabilities)"
        )
    for note in report.notes:
        c.print(f"  [yellow]note:[/] {note}")


def print_comparison(flags: list[dict[str, Any]], console: Console | None = None) -> None:
    """The re-weighting-signature flags of ``compare_runs``."""
    c = console or Console()
    if not flags:
        c.print(
            "no pair shows the re-weighting signature (accuracy down, macro F1 up, fewer zero-F1)"
        )
    for f in flags:
        c.print(f"[yellow]re-weighting signature[/]: {f['message']}")


def _print_paired(p: dict[str, Any], c: Console) -> None:
    c.print(
        f"  paired bootstrap {p.get('b_name', 'b')} − {p.get('a_name', 'a')} on {p['n_examples']:,} shared examples:"
    )
    for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        m = p[key]
        verdict = "[green]meaningful[/]" if m["meaningful"] else "[dim]within noise[/]"
        c.print(
            f"    {label}: {m['diff']:+.4f}  95% CI [{m['low']:+.4f}, {m['high']:+.4f}]  {verdict}"
        )


def _f(v) -> str:
    return "–" if v is None or v != v else f"{v:.3f}"

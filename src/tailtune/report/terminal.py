"""Terminal summaries (rich) of a diagnosis, a noise floor, an error analysis, a comparison.

Run names, labels and texts print literally, whatever console is passed: they are wrapped in
``rich.text.Text`` (a label such as ``[bold]`` or ``[neural]`` would otherwise be read as
markup), and styles are applied explicitly rather than through inline tags.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tailtune.evaluation.splits import split_name

__all__ = [
    "cascade_figures",
    "print_comparison",
    "print_diagnosis",
    "print_errors",
    "print_noise",
]

_STYLE = {
    "well-trained": "green", "undertrained": "yellow", "overtrained": "yellow",
    "data-starved": "yellow", "not-learning": "red", "unstable": "red",
}  # fmt: skip


def _console(console: Console | None) -> Console:
    return console or Console(markup=False, highlight=False)


def _line(*parts: str | tuple[str, str]) -> Text:
    return Text.assemble(*parts)


def print_diagnosis(diagnosis, name: str = "", console: Console | None = None) -> None:
    """Verdict, reasons, next step, and the evidence table of one ``Diagnosis``."""
    c = _console(console)
    style = _STYLE.get(diagnosis.verdict, "bold")
    best = _best_words(diagnosis)
    c.print(_line(*([(str(name), "bold"), " "] if name else []), (diagnosis.verdict, style), best))
    for reason in diagnosis.reasons:
        c.print(Text(f"  because {reason}"))
    c.print(Text(f"  next: {diagnosis.next_step}"))
    curves = getattr(diagnosis, "curves", None)
    if curves:
        c.print(Text(f"  curves: {curves}"))
    fig = getattr(diagnosis, "figures", None)
    if fig:
        model = f", {fig['model']}" if fig.get("model") else ""
        beside = "shown beside them" if fig["split"] != "val" else "at the end of the run"
        c.print(
            Text(
                f"  {fig['name']} figures {beside}{model}: accuracy {_f(fig['accuracy'])}, "
                f"macro F1 {_f(fig['macro_f1'])}, zero-F1 {fig['zero_f1']} of "
                f"{fig['n_classes']} classes ({fig['n_examples']:,} examples)"
            )
        )
    t = Table("evidence", "value", box=None, pad_edge=False, show_header=False)
    for k, v in diagnosis.evidence.items():
        t.add_row(Text(f"  {k}"), Text(str(v)))
    c.print(t)


def _best_words(diagnosis) -> str:
    """ "best" is the checkpoint early stopping kept; the lowest validation loss is named so."""
    x = diagnosis.evidence.get("x", "epoch")
    parts = []
    if getattr(diagnosis, "best_at", None) is not None:
        parts.append(f"best = kept checkpoint: {x} {diagnosis.best_at}")
    if diagnosis.lowest_loss_at is not None:
        parts.append(f"lowest validation loss: {x} {diagnosis.lowest_loss_at}")
    return f"  ({'; '.join(parts)})" if parts else ""


def print_noise(report, console: Console | None = None) -> None:
    """Support counts, bootstrap intervals, detectable difference, and the paired test if any."""
    c = _console(console)
    s, ci, mdd = report.support, report.ci, report.mdd
    c.print(
        _line(
            (str(report.run), "bold"),
            f"  {report.split}: {s['n_examples']:,} examples, {s['n_classes']} classes",
        )
    )
    c.print(
        _line(
            f"  classes with ≤ {s['few']} examples: ",
            (str(s["n_few"]), "bold"),
            f" ({s['share_few']:.1%} of the macro average); exactly 1: ",
            (str(s["n_one"]), "bold"),
        )
    )
    split = split_name(report.split)
    t = Table("metric", "value", "95% CI", "± half-width", "min. detectable Δ",
              title=f"noise floor of the {split} split")  # fmt: skip
    for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        m = ci[key]
        t.add_row(label, f"{m['value']:.4f}", Text(f"[{m['low']:.4f}, {m['high']:.4f}]"),
                  f"{m['half_width']:.4f}", f"{mdd[key]:.4f}")  # fmt: skip
    c.print(t)
    hist = "  ".join(f"{h['bin']}:{h['n_classes']}" for h in s["histogram"])
    c.print(Text(f"  support histogram (examples:classes)  {hist}"))
    if s.get("by_tier"):
        tt = Table("tier", "classes", f"{report.split} ex.", f"classes ≤ {s['few']} ex.",
                   title=f"{split} support per tier")  # fmt: skip
        for tier, row in s["by_tier"].items():
            tt.add_row(tier, str(row["n_classes"]), f"{row['n_examples']:,}", str(row["n_few"]))
        c.print(tt)
        _print_rule(report, c)
    for note in report.notes:
        c.print(_line("  ", ("note:", "yellow"), f" {note}"))
    if report.paired:
        _print_paired(report.paired, c)


def print_errors(report, console: Console | None = None, max_text: int = 160) -> None:
    """Per-tier F1, tail-error destinations, top confused pairs and the hardest mistakes."""
    c = _console(console)
    split = split_name(report.split)
    c.print(_line((str(report.run), "bold"), f"  error analysis ({split} split)"))
    t = Table("tier", "classes", f"{report.split} ex.", "mean F1", "median F1", "zero-F1",
              title=f"per-tier F1 on the {split} split")  # fmt: skip
    for r in report.tiers.to_dict("records"):
        t.add_row(Text(str(r["tier"])), str(r["n_classes"]), str(r["support"]), _f(r["mean_f1"]),
                  _f(r["median_f1"]), str(r["zero_f1"]))  # fmt: skip
    c.print(t)
    _print_rule(report, c)
    d = report.destinations
    fam = f", same family {d['same_family']:.0%}" if d["same_family"] is not None else ""
    c.print(
        Text(
            f"  {d['n_errors']} misclassified tail examples land in: head "
            f"{d['shares']['head']:.0%}, mid {d['shares']['mid']:.0%}, "
            f"tail {d['shares']['tail']:.0%}{fam} → {d['story']}"
        )
    )
    p = Table("gold", "predicted", "count", "share of gold", title=f"top confused pairs ({split})")
    for r in report.pairs.to_dict("records"):
        p.add_row(Text(str(r["gold"])), Text(str(r["pred"])), str(r["count"]), f"{r['share']:.0%}")
    c.print(p)
    h = Table("p(pred)", "gold", "predicted", "text", title=f"hardest mistakes ({split})")
    for r in report.hardest.to_dict("records"):
        text = str(r["text"]).replace("\n", " ")
        h.add_row(
            f"{r['prob']:.3f}",
            Text(str(r["gold"])),
            Text(str(r["pred"])),
            Text(text[:max_text] + ("…" if len(text) > max_text else "")),
        )
    c.print(h)
    if report.issues is not None and len(report.issues):
        c.print(
            f"  cleanlab flags {len(report.issues)} likely label issues (out-of-sample probabilities)"
        )
    for note in report.notes:
        c.print(_line("  ", ("note:", "yellow"), f" {note}"))


def print_comparison(flags: list[dict[str, Any]], console: Console | None = None) -> None:
    """The re-weighting-signature flags of ``compare_runs``."""
    c = _console(console)
    if not flags:
        c.print(
            "no pair shows the re-weighting signature (accuracy down, macro F1 up, fewer zero-F1)"
        )
    for f in flags:  # each message names the split the runs were compared on
        c.print(_line(("re-weighting signature", "yellow"), f": {f['message']}"))


def cascade_figures(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """A cascade run's four validation figures from ``metrics.json``'s ``info``, else None.

    Router macro F1 over the K head classes + OTHER, the specialist's macro F1 on the gold-tail
    rows, the combined macro F1 over every class (hard routing), and the two routing losses:
    gold-tail rows the router sent to a head class, gold-head rows it sent to OTHER (neither can
    be recovered by the specialist).
    """
    info = info or {}
    if "router_macro_f1" not in info:
        return None
    return {
        "n_head": info.get("n_head"),
        "n_tail": info.get("n_tail"),
        "router_macro_f1": info.get("router_macro_f1"),
        "specialist_macro_f1": info.get("specialist_macro_f1"),
        "combined_macro_f1": info.get("combined_macro_f1"),
        "combined_macro_f1_proba": info.get("combined_macro_f1_proba"),
        "tail_sent_to_head": info.get("tail_sent_to_head"),
        "head_sent_to_other": info.get("head_sent_to_other"),
        "routing_lost": info.get("routing_lost"),
    }


def _print_rule(report, c: Console) -> None:
    """The one line saying which rule made the tiers (labels.json ``tiers_rule``)."""
    rule = getattr(report, "tiers_rule", None)
    c.print(Text(f"  tiers by training count: {rule or 'rule not recorded in labels.json'}"))


def _print_paired(p: dict[str, Any], c: Console) -> None:
    on = f" of the {split_name(p['split'])} split" if p.get("split") else ""
    c.print(
        Text(
            f"  paired bootstrap {p.get('b_name', 'b')} − {p.get('a_name', 'a')} "
            f"on {p['n_examples']:,} shared examples{on}:"
        )
    )
    for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
        m = p[key]
        verdict = ("meaningful", "green") if m["meaningful"] else ("within noise", "dim")
        c.print(
            _line(
                f"    {label}: {m['diff']:+.4f}  95% CI [{m['low']:+.4f}, {m['high']:+.4f}]  ",
                verdict,
            )
        )


def _f(v) -> str:
    return "–" if v is None or v != v else f"{v:.3f}"

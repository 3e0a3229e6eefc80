"""Hierarchical metrics in the terminal: every level, hF1, where mistakes went, and back-off.

Reads the ``hierarchy`` block a run with ``data.hierarchy`` writes per split in metrics.json
(:func:`tailtune.workflow.score.hierarchy_scores`); prints nothing for any other run.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["hierarchy_rows", "print_hierarchy"]


def hierarchy_rows(h: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per level: accuracy, macro F1, tier mean F1s, and back-off coverage/precision."""
    backoff = (h.get("backoff") or {}).get("levels") or {}
    rows = []
    for name, m in (h.get("levels") or {}).items():
        tiers = m.get("tiers") or {}
        b = backoff.get(name) or {}
        rows.append({
            "level": name,
            "classes": m.get("n_classes"),
            "accuracy": m.get("accuracy"),
            "macro_f1": m.get("macro_f1"),
            **{f"{t}_f1": (tiers.get(t) or {}).get("mean_f1") for t in ("head", "mid", "tail")},
            "coverage": b.get("coverage"),
            "precision": b.get("precision"),
        })  # fmt: skip
    return rows


def print_hierarchy(h: dict[str, Any] | None, console: Console, split: str = "val") -> None:
    """The per-level table, hierarchical P/R/F1 (Kiritchenko et al. 2006) and the split of
    wrong paths into siblings (right parent) and wrong branches; back-off columns when the
    model has a back-off rule."""
    if not h:
        return
    rows = hierarchy_rows(h)
    has_backoff = "backoff" in h
    table = Table(title=f"Per level ({split})", caption=_CAPTION if has_backoff else None)
    table.add_column("level", no_wrap=True)
    for col in ("classes", "acc.", "macro F1", "head F1", "mid F1", "tail F1"):
        table.add_column(col, justify="right")
    if has_backoff:
        table.add_column("cov.", justify="right")
        table.add_column("prec.", justify="right")
    for r in rows:
        cells = [r["accuracy"], r["macro_f1"], r["head_f1"], r["mid_f1"], r["tail_f1"]]
        if has_backoff:
            cells += [r["coverage"], r["precision"]]
        table.add_row(r["level"], str(r["classes"] or "-"), *(_f(x) for x in cells))
    console.print(table)
    hp = h.get("hierarchical") or {}
    console.print(
        Text(
            f"hierarchical P/R/F1 (Kiritchenko et al. 2006): {_f(hp.get('h_precision'))} / "
            f"{_f(hp.get('h_recall'))} / {_f(hp.get('h_f1'))}"
        )
    )
    e = h.get("errors") or {}
    wrong = e.get("sibling", 0) + e.get("wrong_branch", 0) + e.get("deeper", 0)
    if wrong:
        first = ", ".join(f"{k} {v}" for k, v in (e.get("first_wrong_level") or {}).items())
        console.print(
            Text(
                f"wrong paths {wrong}: {e.get('sibling', 0)} under the right parent (sibling), "
                f"{e.get('wrong_branch', 0)} on a wrong branch; first wrong level: {first}"
            )
        )
    b = h.get("backoff")
    if b:
        console.print(Text(f"back-off: unknown {_f(b.get('unknown'))}, exact {_f(b.get('exact'))}"))


_CAPTION = "cov. / prec.: share of rows the back-off rule answers at that level, and its precision"


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"

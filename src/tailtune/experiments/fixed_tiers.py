"""Tier figures on one fixed class set for every cell of an experiment or grid.

Each run assigns tiers by its own training counts, so a cell that changes the training data (a
subsample, a filter, a different split) moves classes between head, mid and tail: a per-tier Δ
would then compare different classes, and can rise while macro F1 falls. Here every run's
per-tier mean F1 is recomputed from its per-class F1 (``per_class.csv``) under ONE assignment:
the tiers of the full training data, i.e. of the run that trained on the most rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tailtune.runs import layout

__all__ = ["fixed_tiers", "tier_means"]

TIERS = ("head", "mid", "tail")


def fixed_tiers(run_dirs: list[Path]) -> tuple[dict[str, str], str] | None:
    """``(class -> tier, description)`` from the run with the largest training set (its
    labels.json tiers); None when no run recorded tiers."""
    from tailtune.runs import read_run

    best: tuple[int, Any] | None = None
    for d in run_dirs:
        run = read_run(d)
        size = int(run.metrics.get("train_size") or 0)
        if run.labels.get("tiers") and (best is None or size > best[0]):
            best = (size, run)
    if best is None:
        return None
    size, run = best
    rule = (f"tiers of the full training data ({size:,} rows, {run.path.name}), the same classes "
            "in every cell")  # fmt: skip
    return dict(run.labels["tiers"]), rule


def tier_means(run_dir: Path, tiers: dict[str, str]) -> dict[str, float | None]:
    """Mean validation F1 per tier of ``tiers`` over the classes of ``run_dir``'s per-class
    table (classes with validation examples); None for a tier with none of them."""
    path = Path(run_dir) / layout.per_class_file("val")
    if not path.is_file():
        return dict.fromkeys(TIERS)
    table = pd.read_csv(path, dtype={"label": str})
    table = table[table.get("support", 1) > 0] if "support" in table else table
    tier = table["label"].map(tiers)
    return {t: (float(table.loc[tier == t, "f1"].mean()) if (tier == t).any() else None)
            for t in TIERS}  # fmt: skip

"""Which split an analysis reads: the one asked for, else test when the run has it, else val.

Every analysis (errors, noise, diagnose, report) reads one split of a run's predictions. Test is
the default when a run has one, because it measures the final model (the refit model, when the
run refit on train + validation) on examples no choice was made on; validation is where the
selection happened. A split the run lacks is a user error naming the run and what it has.
"""

from __future__ import annotations

from collections.abc import Sequence

from tailtune.errors import DataError
from tailtune.runs import Run

__all__ = ["pick_split", "run_splits", "shared_split", "split_model", "split_name"]

_ORDER = ("val", "test")
_NAMES = {"val": "validation", "test": "test"}


def run_splits(run: Run) -> list[str]:
    """The splits a run has predictions for: val, test, then any other, in that order."""
    present = set(run.predictions["split"].astype(str)) if len(run.predictions) else set()
    return [s for s in _ORDER if s in present] + sorted(present - set(_ORDER))


def pick_split(run: Run, split: str | None = None) -> str:
    """``split`` when the run has it; None = test when the run has test predictions, else val.

    Raises DataError (one line: the run and the splits it has) for a split the run lacks.
    """
    have = run_splits(run)
    if split is None:
        for candidate in ("test", "val"):
            if candidate in have:
                return candidate
        raise DataError(f"{run.path}: no val or test predictions in this run ({_has(have)})")
    if split not in have:
        raise DataError(f"{run.path}: no '{split}' split in this run ({_has(have)})")
    return split


def shared_split(runs: Sequence[Run], split: str | None = None) -> str:
    """The split every run has: ``split`` if given (each run must have it), else test when all
    have it, else val; DataError naming each run's splits when they share none."""
    if split is not None:
        for run in runs:
            pick_split(run, split)
        return split
    have = [run_splits(r) for r in runs]
    for candidate in ("test", "val"):
        if all(candidate in h for h in have):
            return candidate
    listed = "; ".join(
        f"{r.name}: {', '.join(h) or 'none'}" for r, h in zip(runs, have, strict=True)
    )
    raise DataError(f"the runs share no val or test split ({listed})")


def split_name(split: str) -> str:
    """``validation`` for val, the split's own name otherwise (for headings)."""
    return _NAMES.get(split, split)


def split_model(run: Run, split: str) -> str | None:
    """Which model scored ``split`` when the run refit (None when it did not).

    With a refit, validation metrics come from the selection model and test metrics from the
    model refit on train + validation (``metrics.json``'s ``refit`` record).
    """
    refit = run.metrics.get("refit") or {}
    if not refit.get("enabled"):
        return None
    if split == "test":
        rows = refit.get("rows")
        on = f" on {rows:,} rows" if isinstance(rows, int) else ""
        return f"the refit model (trained on train + validation{on})"
    return "the selection model (trained on train, its choices made on validation)"


def _has(have: list[str]) -> str:
    return "it has " + ", ".join(have) if have else "it has no predictions"

"""Subsets for controlled experiments: balanced top-K label subsets and stratified subsamples.

``subset_labels`` builds a labels × samples grid (e.g. GoEmotions at 2/4/8/16 labels × 800/1600/2400
examples, balanced); ``stratified_subsample`` draws N rows before the split (validation shrinks
with it); ``nested_fractions`` / ``train_subsample`` subsample the *training split only*, after the
split, so every point of a data-scaling curve is scored on the same validation examples and
neighbouring points can be compared with a paired bootstrap.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from tailtune.data._alloc import allocate
from tailtune.errors import DataError

__all__ = ["nested_fractions", "stratified_subsample", "subset_labels", "train_subsample"]


def subset_labels(
    frame: pd.DataFrame,
    labels: int | list[str],
    per_class: int | None = None,
    seed: int = 42,
    *,
    total: int | None = None,
) -> pd.DataFrame:
    """Keep the top-K labels by count (``labels`` an int) or the named labels, balanced.

    ``per_class`` takes exactly N examples of every kept label (seeded draw); ``total`` is the
    alternative spelling "N examples in all" (``total // K`` per class).
    With neither, all rows of the kept labels are returned. A label with fewer than N
    examples raises DataError naming it. Rows keep their input order.
    """
    counts = frame["label"].value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    if isinstance(labels, int):
        if not 1 <= labels <= len(counts):
            raise DataError(f"subset: labels={labels}, expected 1..{len(counts)} (classes present)")
        keep = [str(x) for x in counts.index[:labels]]
    else:
        keep = [str(x) for x in labels]
        for name in keep:
            if name not in counts.index:
                close = difflib.get_close_matches(name, [str(x) for x in counts.index], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise DataError(f"subset: no label '{name}' in the data{hint}")
    if total is not None:
        if per_class is not None:
            raise DataError("subset: give per_class or total, not both")
        per_class = total // len(keep)
    if per_class is not None:
        for name in keep:
            if counts[name] < per_class:
                raise DataError(
                    f"subset: label '{name}' has {counts[name]} examples, fewer than the "
                    f"{per_class} requested per class"
                )
    rng = np.random.default_rng(seed)
    chosen = []
    for name in keep:  # in count order, so the seeded draws do not depend on list order
        rows = np.flatnonzero(frame["label"].to_numpy() == name)
        chosen.append(rows if per_class is None else rng.choice(rows, per_class, replace=False))
    idx = np.sort(np.concatenate(chosen))
    return frame.iloc[idx].reset_index(drop=True)


def stratified_subsample(frame: pd.DataFrame, n: int, seed: int = 42) -> pd.DataFrame:
    """Draw ``n`` rows keeping class proportions (largest remainder), every class at least once.

    When ``n`` is at least the number of classes each class keeps one row and the remaining
    ``n - K`` are shared in proportion to class size; when ``n`` ≥ len(frame) the frame is
    returned whole. Rows keep their input order.
    """
    if n >= len(frame):
        return frame.reset_index(drop=True)
    if n < 1:
        raise DataError(f"subsample: n={n}, expected a positive number of rows")
    labels = frame["label"].to_numpy()
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    rng = np.random.default_rng(seed)
    if n >= len(classes):
        take = 1 + allocate(n - len(classes), counts - 1, counts - 1, rng)
    else:
        take = allocate(n, counts, np.minimum(counts, 1), rng)
    chosen = [
        rng.choice(np.flatnonzero(codes == k), take[k], replace=False)
        for k in range(len(classes))
        if take[k]
    ]
    return frame.iloc[np.sort(np.concatenate(chosen))].reset_index(drop=True)


def nested_fractions(labels, fractions, seed: int, reduced=None) -> dict[float, np.ndarray]:
    """Row indices of each fraction: nested, stratified, every class kept at least once.

    Per class one seeded permutation of its rows; fraction f takes its first
    ``max(1, round(f · n))`` rows, so a smaller fraction is always a subset of a larger one.
    ``reduced`` (a boolean per class, in sorted label order) limits the subsampling to those
    classes; the others keep all their rows. Indices come back sorted (input order).
    """
    labels = np.asarray(labels, dtype=str)
    rng = np.random.default_rng(seed)
    classes, codes = np.unique(labels, return_inverse=True)
    reduced = np.ones(len(classes), dtype=bool) if reduced is None else np.asarray(reduced)
    perms = [np.flatnonzero(codes == k) for k in range(len(classes))]
    perms = [rows[rng.permutation(len(rows))] for rows in perms]
    out = {}
    for f in sorted(fractions):
        take = [rows[: max(1, int(round(f * len(rows))))] if red else rows
                for rows, red in zip(perms, reduced, strict=True)]  # fmt: skip
        out[f] = np.sort(np.concatenate(take))
    return out


def train_subsample(
    train: pd.DataFrame, *, rows: int | None = None, fraction: float | None = None, seed: int = 0
) -> tuple[pd.DataFrame, dict]:
    """Keep a nested, stratified part of the training split: ``fraction`` of it, or about ``rows``.

    Every class keeps ``max(1, round(f · n_class))`` rows (:func:`nested_fractions`), so for one
    seed a smaller point of a curve is a subset of a larger one and no class disappears. A row
    count is turned into the fraction ``rows / len(train)``; per-class rounding makes the kept
    count approximate, and the report gives it exactly.
    """
    n = len(train)
    if rows is not None:
        if rows >= n:
            return train.reset_index(drop=True), {
                "rows_before": n,
                "rows_after": n,
                "fraction": 1.0,
            }
        fraction = rows / n
    if fraction is None or fraction >= 1.0:
        return train.reset_index(drop=True), {"rows_before": n, "rows_after": n, "fraction": 1.0}
    idx = nested_fractions(train["label"], (fraction,), seed)[fraction]
    kept = train.iloc[idx].reset_index(drop=True)
    return kept, {"rows_before": n, "rows_after": len(kept), "fraction": round(fraction, 6)}

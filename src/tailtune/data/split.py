"""A seeded, stratified, rare-class-safe train/val(/test) split, written byte-identically.

Every class keeps at least one example in train, so every class in val (and test) also appears
in train; a class with a single example stays in train and is reported. Per-class hold-out
counts use the largest-remainder method, so the total held out is exactly what was asked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailtune.data._alloc import allocate
from tailtune.data._rows import FRAME_COLUMNS
from tailtune.errors import DataError

__all__ = ["SplitResult", "split_frame", "write_split", "resolve_count"]


@dataclass
class SplitResult:
    """Train, validation and (possibly empty) test frames and what the split did."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def split_frame(
    frame: pd.DataFrame,
    *,
    val: float = 0.1,
    test: float = 0.0,
    seed: int = 42,
    stratify: bool = True,
) -> SplitResult:
    """Split ``frame`` into train/val/test; ``val``/``test`` are fractions in [0, 1) or counts.

    Stratified: each class holds out its largest-remainder share of the requested count,
    capped so that at least one example stays in train (a class of 2 gives at most 1 to val
    and test together). Validation is allocated first, then test from what is left.
    ``stratify=False`` draws held-out rows uniformly at random under the same cap.
    Rows keep their input order inside each split. Pure ``numpy`` Generator on ``seed``.
    """
    n = len(frame)
    n_val, n_test = resolve_count(val, n, "val"), resolve_count(test, n, "test")
    labels = frame["label"].to_numpy()
    classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    room = int((counts - 1).sum())
    if n_val + n_test > room:
        raise DataError(
            f"split: cannot hold out {n_val + n_test} rows of {n}: at most {room} can leave train "
            f"while every one of the {len(classes)} classes keeps an example there"
        )
    rng = np.random.default_rng(seed)
    if stratify:
        v = allocate(n_val, counts, counts - 1, rng)
        t = allocate(n_test, counts, counts - 1 - v, rng)
        part = _assign_stratified(codes, counts, v, t, rng)
    else:
        part = _assign_random(codes, counts, n_val, n_test, rng)
    train, val_f, test_f = (frame[part == k].reset_index(drop=True) for k in (0, 1, 2))
    report = _report(classes, counts, codes, part, seed, stratify)
    return SplitResult(train=train, val=val_f, test=test_f, report=report)


def resolve_count(value: float, n: int, name: str = "val") -> int:
    """A fraction in [0, 1) of ``n`` rows (rounded), or a whole count ≥ 1 taken as is."""
    if value < 0 or (value >= 1 and not float(value).is_integer()):
        raise DataError(
            f"split.{name}: got {value}, expected a fraction in [0, 1) or a whole count"
        )
    return int(value) if value >= 1 else int(round(value * n))


def _assign_stratified(codes, counts, v, t, rng) -> np.ndarray:
    """0 = train, 1 = val, 2 = test: per class, a seeded permutation's first v go to val."""
    part = np.zeros(len(codes), dtype=np.int8)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for k, (start, c) in enumerate(zip(starts, counts, strict=True)):
        rows = order[start : start + c][rng.permutation(c)]
        part[rows[: v[k]]] = 1
        part[rows[v[k] : v[k] + t[k]]] = 2
    return part


def _assign_random(codes, counts, n_val, n_test, rng) -> np.ndarray:
    """Uniform draw in seeded order, skipping a row whose class has one train example left."""
    part = np.zeros(len(codes), dtype=np.int8)
    left = counts.copy()
    want = {1: n_val, 2: n_test}
    for i in rng.permutation(len(codes)):
        k = 1 if want[1] else 2 if want[2] else 0
        if k == 0:
            break
        if left[codes[i]] > 1:
            part[i] = k
            left[codes[i]] -= 1
            want[k] -= 1
    return part


def _report(classes, counts, codes, part, seed, stratify) -> dict[str, Any]:
    per = {k: np.bincount(codes[part == k], minlength=len(classes)) for k in (0, 1, 2)}
    singletons = [str(c) for c in classes[counts == 1]]
    no_val = [str(c) for c in classes[per[1] == 0]]
    return {
        "seed": seed,
        "stratify": stratify,
        "rows": {"train": int(per[0].sum()), "val": int(per[1].sum()), "test": int(per[2].sum())},
        "classes": int(len(classes)),
        "singletons_in_train": singletons,  # one example: kept in train, absent from val
        "classes_without_val": len(no_val),
        "classes_without_val_first": no_val[:20],
    }


def write_split(result: SplitResult, out_dir: str | Path, format: str = "csv") -> list[Path]:
    """Write train/val(/test) files with columns ``id, text, label, line`` plus ``split.json``.

    ``format`` is csv (default), jsonl or parquet; the same split gives byte-identical files.
    The test file is written only when the test split has rows. Returns the data file paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if format not in ("csv", "jsonl", "parquet"):
        raise DataError(f"format: got '{format}', expected csv, jsonl or parquet")
    written = []
    for name in ("train", "val", "test"):
        frame = getattr(result, name)[FRAME_COLUMNS]
        if name == "test" and frame.empty:
            continue
        path = out / f"{name}.{format}"
        if format == "csv":
            frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        elif format == "jsonl":
            frame.to_json(path, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
    report = json.dumps(result.report, indent=2, sort_keys=True, ensure_ascii=False)
    (out / "split.json").write_text(report + "\n", encoding="utf-8")
    return written

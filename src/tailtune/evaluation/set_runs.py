"""Label sets read back from a run directory, for the analyses that only read runs (noise,
errors): the split's gold and predicted 0/1 matrices, and their bootstrap intervals in the shape
:func:`tailtune.evaluation.noise.bootstrap_ci` gives for single-label runs."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["set_ci", "set_separator", "split_matrices"]


def set_separator(run) -> str | None:
    """The run's set separator when it trained on label sets (``data.multi_label: sets``)."""
    data = (run.config or {}).get("data") or {}
    if data.get("multi_label") != "sets":
        return None
    return data.get("multi_label_separator") or ","


def split_matrices(run, split: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """``(gold Y, predicted Y, label names, row ids)`` of one split of a label-set run."""
    from tailtune.data.labelsets import indicator, parse_sets

    sep = set_separator(run)
    frame = run.split_predictions(split)
    classes = [str(c) for c in run.labels.get("classes") or []]
    y, classes = indicator(parse_sets(frame["gold"], sep), classes or None)
    pred, _ = indicator(parse_sets(frame["pred"], sep), classes)
    return y, pred, classes, frame["id"].astype(str).tolist()


def set_ci(
    y: np.ndarray, pred: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, dict[str, float]]:
    """Intervals of subset accuracy (as ``accuracy``), macro, micro and samples F1 over texts
    resampled with replacement, each ``{value, low, high, se, half_width}``."""
    from tailtune.evaluation._bootstrap import percentile_ci
    from tailtune.evaluation.set_metrics import resampled_set_scores

    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    samples = resampled_set_scores(y, pred, idx)
    point = resampled_set_scores(y, pred, np.arange(len(y))[None, :])
    out: dict[str, Any] = {}
    for name, key in (("accuracy", "subset_accuracy"), ("macro_f1", "macro_f1"),
                      ("micro_f1", "micro_f1"), ("samples_f1", "samples_f1")):  # fmt: skip
        lo, hi = percentile_ci(samples[key], level)
        out[name] = {"value": float(point[key][0]), "low": lo, "high": hi,
                     "se": float(np.std(samples[key], ddof=1)), "half_width": (hi - lo) / 2.0}  # fmt: skip
    return out

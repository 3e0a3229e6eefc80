"""The guards' reference figures for label sets (``data.multi_label: sets``), from the data.

A label-set model makes one yes/no decision per label, so its text-blind references are per
label too (rates ``p_j``: the share of training texts carrying label j):

- the prior loss: binary cross-entropy of predicting every label's rate, the sum of the
  per-label Bernoulli entropies −Σ_j [p_j ln p_j + (1 − p_j) ln(1 − p_j)] (the training loop
  measures it with the run's own loss instead, so its units match the training loss);
- the chance macro F1: the best a predictor reaches without the text. Per label, always
  answering "yes" scores 2·n_j / (n_j + n) and drawing "yes" with probability p_j scores
  2·n_j·p_j / (n_j + n·p_j), never more (the same ratio of expected counts as the single-label
  chance, :mod:`tailtune.guards.reference`); answering "no" scores 0. Chance is the mean over
  the labels present in the validation gold of the better of the two;
- the lower end of the model's macro F1 interval over texts resampled with replacement (a
  text's labels travel together: :func:`tailtune.evaluation.set_metrics.bootstrap_sets`);
- collapse figures: the share of texts given the most common predicted set (the empty set
  included), that set's share of the gold sets, and whether it is the prior's own answer (the
  labels whose rate is at least one half: what a model that learned nothing predicts) while
  validation is at chance; the at-chance guards then name the cause, as for single labels.
"""

from __future__ import annotations

import numpy as np

from tailtune.evaluation.set_metrics import bootstrap_sets
from tailtune.guards.reference import COVER_SHARE

__all__ = ["bernoulli_entropy", "set_chance_macro_f1", "set_evaluation_figures"]


def bernoulli_entropy(rates) -> float:
    """Σ_j H(p_j) in nats: the loss (summed over labels) of predicting every label's rate."""
    p = np.clip(np.asarray(rates, dtype=float), 0.0, 1.0)
    p = p[(p > 0) & (p < 1)]
    return float(-(p * np.log(p) + (1 - p) * np.log1p(-p)).sum())


def set_chance_macro_f1(gold: np.ndarray, rates) -> float:
    """Macro F1 over the labels present in ``gold`` (texts × labels, 0/1) of the better
    text-blind answer per label: always "yes", or "yes" drawn with the label's rate."""
    gold = np.asarray(gold, dtype=bool)
    n, n_j = float(len(gold)), gold.sum(axis=0).astype(float)
    q = np.clip(np.asarray(rates, dtype=float), 0.0, 1.0)
    present = n_j > 0
    if not present.any():
        return 0.0
    always = 2 * n_j / (n_j + n)
    denom = n_j + n * q
    drawn = np.divide(2 * n_j * q, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(np.maximum(always, drawn)[present].mean())


def set_evaluation_figures(gold, pred, rates, *, names=None, n_boot: int = 200,
                           seed: int = 0) -> dict:  # fmt: skip
    """The figures one evaluation of a label-set model adds to the history for the guards.

    ``gold`` and ``pred`` are 0/1 matrices (texts × labels); ``rates`` the training rate of
    each label (or the rate in the batches a sampler draws); ``names`` the labels, for the
    evidence (positions without them).
    """
    gold, pred = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    rates = np.asarray(rates, dtype=float)
    low = bootstrap_sets(gold, pred, n_boot=n_boot, seed=seed)["macro_f1"]["low"]
    sets_pred, top_share, top = _top_set(pred)
    sets_gold = _keys(gold)
    chance = set_chance_macro_f1(gold, rates)
    return {
        "chance_macro_f1": round(chance, 4),
        "macro_f1_low": round(float(low), 4),
        "pred_cover": _cover(sets_pred),
        "gold_cover": _cover(sets_gold),
        "pred_top_share": round(top_share, 4),
        "pred_top_prior": round(float(np.mean(sets_gold == top)), 4),  # its share of the gold
        "pred_top_set": _describe(top, names),
        "pred_top_is_majority": bool(top == _key(rates >= 0.5) and low <= chance),
    }


def _keys(matrix: np.ndarray) -> np.ndarray:
    return np.array([_key(row) for row in matrix], dtype=object)


def _key(row) -> str:
    return "".join("1" if x else "0" for x in np.asarray(row, dtype=bool))


def _top_set(pred: np.ndarray) -> tuple[np.ndarray, float, str]:
    keys = _keys(pred)
    values, counts = np.unique(keys, return_counts=True)
    i = int(counts.argmax())
    return keys, float(counts[i] / counts.sum()), str(values[i])


def _cover(keys: np.ndarray, share: float = COVER_SHARE) -> int:
    """The fewest distinct sets that together hold ``share`` of the texts."""
    counts = np.sort(np.unique(keys, return_counts=True)[1])[::-1]
    return int(np.searchsorted(np.cumsum(counts) / counts.sum(), share - 1e-12) + 1)


def _describe(key: str, names=None) -> str:
    """The set as ``{a, b}`` (``{}``: the empty set), by name or position, for the evidence."""
    names = list(names) if names is not None else list(map(str, range(len(key))))
    return "{" + ", ".join(names[i] for i, c in enumerate(key) if c == "1") + "}"

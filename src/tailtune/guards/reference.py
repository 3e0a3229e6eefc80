"""The reference figures guards compare against, all derived from the data itself.

- the prior entropy H(π) = −Σ π_k ln π_k: the training loss of always predicting the class
  prior, the best a model can do without reading the text (ln K when classes are balanced);
- the chance macro F1: the better of the majority-class predictor and a predictor drawing
  labels from the prior, on the validation labels at hand;
- the lower end of the model's macro F1 interval by stratified bootstrap (Efron & Tibshirani
  1993, ch. 6), so that "at chance" means indistinguishable from chance on this validation set;
- coverage: how many classes hold 90% of the gold labels, and of the predictions; the share
  of predictions going to the most predicted class, and that class's share of the prior.
"""

from __future__ import annotations

import math

import numpy as np

from tailtune.evaluation._bootstrap import resampled_scores, stratified_indices

__all__ = ["chance_macro_f1", "coverage", "evaluation_figures", "prior_entropy", "COVER_SHARE"]

COVER_SHARE = 0.9  # "almost every row": the classes that take 90% of the rows


def prior_entropy(counts) -> float:
    """H(π) in nats for class counts (a list, array or {class: count})."""
    c = np.asarray(list(counts.values()) if isinstance(counts, dict) else counts, dtype=float)
    p = c[c > 0] / c.sum()
    return float(-(p * np.log(p)).sum())


def chance_macro_f1(gold: np.ndarray, prior: np.ndarray) -> float:
    """Macro F1 (over the classes present in ``gold``) a predictor reaches without the text.

    Two such predictors: always the prior's majority class (its F1 2·n_m / (n_m + n), others 0)
    and a label drawn from ``prior`` for every row (expected F1 2·n_k·π_k / (n_k + n·π_k) per
    class, the ratio of expected counts); the better of the two is chance.
    """
    gold = np.asarray(gold, dtype=np.int64)
    prior = np.asarray(prior, dtype=float)
    n_gold = np.bincount(gold, minlength=len(prior)).astype(float)
    present = n_gold > 0
    n = n_gold.sum()
    k_major = int(prior.argmax())
    majority = 2 * n_gold[k_major] / (n_gold[k_major] + n) / present.sum()
    q = prior / prior.sum()
    denom = n_gold + n * q
    drawn = np.divide(2 * n_gold * q, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(max(majority, drawn[present].mean()))


def coverage(codes: np.ndarray, share: float = COVER_SHARE) -> int:
    """The fewest classes that together hold ``share`` of the rows of ``codes``."""
    counts = np.sort(np.bincount(np.asarray(codes, dtype=np.int64)))[::-1]
    if counts.sum() == 0:
        return 0
    return int(np.searchsorted(np.cumsum(counts) / counts.sum(), share - 1e-12) + 1)


def evaluation_figures(gold, pred, prior, *, n_boot: int = 200, seed: int = 0) -> dict:
    """The figures one evaluation adds to the history for the guards (rounded, JSON-ready).

    ``gold`` and ``pred`` are class indices into ``prior`` (the training class distribution).
    """
    gold = np.asarray(gold, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    k = max(len(prior), int(gold.max(initial=0)) + 1, int(pred.max(initial=0)) + 1)
    prior = np.pad(np.asarray(prior, dtype=float), (0, k - len(prior)))
    idx = stratified_indices(gold, n_boot, seed)
    _, f1 = resampled_scores(gold, pred, idx, k)
    top = int(np.bincount(pred, minlength=k).argmax())
    return {
        "chance_macro_f1": round(chance_macro_f1(gold, prior), 4),
        "macro_f1_low": round(float(np.quantile(f1, 0.025)), 4),
        "pred_cover": coverage(pred),
        "gold_cover": coverage(gold),
        "pred_top_share": round(float(np.mean(pred == top)), 4),
        "pred_top_prior": round(float(prior[top] / prior.sum()), 4),
    }


def ln_k(n_classes: int) -> float:
    """ln K: the loss of the uniform prediction over K classes."""
    return math.log(max(int(n_classes), 2))

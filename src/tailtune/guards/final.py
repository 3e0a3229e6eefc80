"""Guards on a fitted model's predictions, for models without a training curve (linear
backends): collapsed, and at chance with its cause read from how well the model fits its own
training rows (fits them: labels memorised, not predicted; does not: not learning). Label
sets get the same reading with the set figures of :mod:`tailtune.guards.sets`.

A validation set of a few dozen rows cannot tell a weak model from chance: the bootstrap
interval of its macro F1 is wide enough to reach the chance figure, and a flexible model fits
its training rows whatever they hold, so "memorised, not predicted" would be read from too
little evidence. Before a memorising cause is given, the same model is refitted on folds of the
training rows and scored on the rows each fold left out (k-fold cross-fitting, k = 5: every
training row predicted by a model that never saw it); when those held-out predictions are
measurably above chance (their interval clears it, on more rows than validation holds), the
model predicts the labels from the text and nothing is said. This is only asked when
validation's own macro F1 is above the chance figure (its interval reaching down to it): the
two samples then point the same way. Unrelated labels stay at chance on held-out training
rows too."""

from __future__ import annotations

import numpy as np

from tailtune.evaluation.metrics import compute_metrics
from tailtune.evaluation.set_metrics import resampled_set_scores
from tailtune.guards.curve import WHAT_TO_DO, _at_chance, _collapsed, _finding
from tailtune.guards.finding import Finding
from tailtune.guards.reference import evaluation_figures
from tailtune.guards.sets import set_evaluation_figures

__all__ = ["check_predictions", "check_set_predictions", "cross_fitted"]

ID_ROWS = 3
FOLDS = 5  # k of the k-fold cross-fitting (every training row held out once)


def check_predictions(gold, pred, train_counts: dict, train_fit=None,
                      held_out=None) -> list[Finding]:  # fmt: skip
    """Findings on validation labels ``gold`` and predictions ``pred`` (label strings).

    ``train_fit``: a callable returning ``(gold, pred)`` on the training rows, called only when
    validation is at chance, to tell memorised labels from a model that learned nothing.
    ``held_out``: a callable returning ``(gold, pred)`` on the training rows, each predicted by
    a model fitted without it (:func:`cross_fitted`), called only before a memorising cause is
    given (module docstring).
    """
    figures = _figures(gold, pred, train_counts)
    fit_of = (lambda: _figures(*train_fit(), train_counts)) if train_fit is not None else None
    held_of = (lambda: _figures(*held_out(), train_counts)) if held_out is not None else None
    return _verdict(figures, fit_of, "rows", train_counts, held_of)


def cross_fitted(make, texts, labels, folds: int = FOLDS, seed: int = 0):
    """``(labels, predictions)`` on every row of ``texts``, each predicted by ``make()`` (an
    unfitted model) fitted on the other folds of a ``folds``-fold split stratified by label."""
    labels = np.asarray(labels, dtype=object)
    texts = list(texts)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for value in np.unique(labels.astype(str)):  # deal each class's rows round the folds
        rows = np.flatnonzero(labels.astype(str) == value)
        fold[rng.permutation(rows)] = (np.arange(len(rows)) + rng.integers(folds)) % folds
    pred = np.empty(len(labels), dtype=object)
    for k in range(folds):
        out, keep = fold == k, fold != k
        if not out.any() or len(set(labels[keep].astype(str))) < 2:
            continue
        model = make().fit([texts[i] for i in np.flatnonzero(keep)], labels[keep])
        pred[out] = model.predict([texts[i] for i in np.flatnonzero(out)])
    done = np.array([p is not None for p in pred])
    return labels[done].astype(str), pred[done].astype(str)


def _verdict(figures: dict, fit_of, what: str, train_counts: dict | None = None,
             held_of=None):  # fmt: skip
    """One model's findings from its validation ``figures``; ``fit_of()`` gives the same
    figures on its training ``what`` (rows or sets), read only when validation is at chance;
    ``train_counts`` (single labels) tells an identifier-like label apart; ``held_of()`` the
    figures of cross-fitted predictions on the training rows, read before a memorising cause."""
    rows = [figures, figures]  # one model: its figures stand for the trend
    chance = _at_chance(rows)
    fit = fit_of() if chance and fit_of is not None else None
    found = _collapsed(rows)
    if found is not None:
        return [_not_learned(found, fit) or found]
    if chance is None:
        return []
    if fit is None or fit["macro_f1_low"] <= fit["chance_macro_f1"]:
        return [_finding("not-learning", "validation is indistinguishable from chance and the "
                         f"model does not fit its training {what} either: nothing it learns "
                         "from the texts predicts these labels", figures, **chance,
                         train_macro_f1=(fit or {}).get("macro_f1"))]  # fmt: skip
    # validation's own figure above chance but its interval too wide to show it: the held-out
    # training rows (more of them) tell whether the model predicts the labels from the text
    above = figures.get("macro_f1", 0.0) > figures["chance_macro_f1"]
    held = held_of() if held_of is not None and above else None
    if held is not None and held["macro_f1_low"] > held["chance_macro_f1"]:
        return []
    per_class = float(np.median(list(train_counts.values()))) if train_counts else None
    if per_class is not None and per_class <= ID_ROWS:
        return [_finding("identifier-labels", f"the label looks like an identifier: its classes "
                         f"have a median of {per_class:g} training rows each and validation is "
                         "at chance", figures, median_rows_per_class=per_class,
                         n_classes=len(train_counts), **chance,
                         held_out_macro_f1=(held or {}).get("macro_f1"))]  # fmt: skip
    return [_finding("labels-unrelated", f"the model fits its training {what} while validation "
                     "stays at chance: labels are memorised, not predicted from the text",
                     figures, train_macro_f1=fit["macro_f1"], **chance,
                     held_out_macro_f1=(held or {}).get("macro_f1"))]  # fmt: skip


def _figures(gold, pred, train_counts: dict) -> dict:
    gold, pred = np.asarray(gold, dtype=str), np.asarray(pred, dtype=str)
    classes = sorted(set(map(str, train_counts)) | set(gold) | set(pred))
    index = {c: i for i, c in enumerate(classes)}
    prior = np.array([train_counts.get(c, 0) for c in classes], dtype=float)
    g = np.array([index[x] for x in gold])
    p = np.array([index[x] for x in pred])
    macro = compute_metrics(gold, pred)["macro_f1"]
    return {**evaluation_figures(g, p, prior / prior.sum()), "macro_f1": round(float(macro), 4)}


def check_set_predictions(gold, pred, rates, train_fit=None, names=None) -> list[Finding]:
    """Findings on validation label sets ``gold`` and predicted sets ``pred`` (0/1 matrices,
    texts × labels); ``rates``: each label's training rate; ``train_fit`` as in
    :func:`check_predictions`, returning the two matrices on the training rows."""
    figures = _set_figures(gold, pred, rates, names)
    fit_of = (lambda: _set_figures(*train_fit(), rates, names)) if train_fit is not None else None
    return _verdict(figures, fit_of, "sets")


def _set_figures(gold, pred, rates, names) -> dict:
    gold, pred = np.asarray(gold, dtype=bool), np.asarray(pred, dtype=bool)
    macro = resampled_set_scores(gold, pred, np.arange(len(gold))[None, :])["macro_f1"][0]
    figures = set_evaluation_figures(gold, pred, rates, names=names)
    return {**figures, "macro_f1": round(float(macro), 4)}


def _not_learned(collapse: Finding, fit: dict | None) -> Finding | None:
    """A one-answer model at chance that does not fit its training rows either learned nothing
    from the texts (a constant or empty text column): not-learning, with the collapse figures;
    a collapse is a model that learned and piles onto a few answers (weights, a bias)."""
    if fit is None or fit["macro_f1_low"] > fit["chance_macro_f1"]:
        return None
    return Finding("not-learning", "validation is indistinguishable from chance and the model "
                   "gives almost every row the same answer, on its training rows too: nothing "
                   "it learns from the texts predicts these labels",
                   {**collapse.evidence, "train_macro_f1": fit["macro_f1"]},
                   WHAT_TO_DO["not-learning"], collapse.step)  # fmt: skip

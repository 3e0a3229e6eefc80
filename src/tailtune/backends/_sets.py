"""Label sets inside a backend: recognizing them, and the one-vs-rest linear model over them.

A backend is given label sets as scikit-learn's multi-label estimators are: one sequence of
labels per text (``[("anger", "annoyance"), ("joy",), ()]``), never a joined string, so a label
named ``"a,b"`` and the set ``{a, b}`` cannot be mistaken for each other. The backend learns one
independent score per label (a sigmoid), and the saved decision rule
(:class:`tailtune.objectives.thresholds.SetRule`) turns the scores into a set.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["as_sets", "is_label_sets", "ovr_linear", "prior_log_odds", "sigmoid"]


def is_label_sets(labels: Sequence) -> bool:
    """Whether ``labels`` are label sets (each a list, tuple or set) rather than labels."""
    first = next(iter(labels), None) if len(labels) else None
    return isinstance(first, (list, tuple, set, frozenset))


def as_sets(labels: Sequence) -> list[tuple[str, ...]]:
    """Each set as a sorted tuple of distinct label strings."""
    return [tuple(sorted({str(x) for x in s})) for s in labels]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^(−z)), without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def prior_log_odds(y: np.ndarray, pos_weights: np.ndarray | None = None) -> np.ndarray:
    """Each label's constant logit that minimises its (positive-weighted) BCE: the log-odds
    ``log(w_j · p_j / (1 − p_j))`` of its training frequency p_j, clipped to ±9.

    A sigmoid head whose bias starts here starts at the loss of predicting the label priors
    instead of at log 2 per label; the "prior" initialisation of Lin et al. 2017 (focal loss,
    §4.1). Without it a fine-tune with 28 sparse labels spends its first thousands of steps at a
    fine-tuning learning rate only moving the biases towards about −3.
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.clip(y.mean(axis=0), 1e-6, 1 - 1e-6)
    w = np.ones_like(p) if pos_weights is None else np.asarray(pos_weights, dtype=np.float64)
    return np.clip(np.log(w * p / (1 - p)), -9.0, 9.0)


def ovr_linear(x, y: np.ndarray, *, classifier: str, C: float, max_iter: int, seed: int,
               pos_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One binary linear model per label (one-vs-rest): ``(coef (K, F), intercept (K,))``.

    ``classifier`` is ``logreg`` (L2 logistic regression, liblinear: the binary problems are
    small and sparse) or ``linear_svc``; ``pos_weights[j]`` weights label j's positive texts
    (``class_weight={1: w}``). A label whose every training text is positive (or none is) gets
    a constant score instead of a model.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    k = y.shape[1]
    coef = np.zeros((k, x.shape[1]), dtype=np.float64)
    intercept = np.zeros(k, dtype=np.float64)
    for j in range(k):
        col = y[:, j].astype(int)
        if col.min() == col.max():  # one class only: a constant, very sure score
            intercept[j] = 10.0 if col[0] else -10.0
            continue
        weight = None if pos_weights is None else {0: 1.0, 1: float(pos_weights[j])}
        if classifier == "linear_svc":
            clf = LinearSVC(C=C, dual=True, max_iter=max_iter, random_state=seed,
                            class_weight=weight)  # fmt: skip
        else:
            clf = LogisticRegression(C=C, solver="liblinear", max_iter=max_iter,
                                     random_state=seed, class_weight=weight)  # fmt: skip
        clf.fit(x, col)
        coef[j], intercept[j] = clf.coef_[0], float(np.ravel(clf.intercept_)[0])
    return coef, intercept

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

__all__ = ["as_sets", "is_label_sets", "ovr_linear", "sigmoid"]


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

"""``--format sklearn``: a TF-IDF run as a scikit-learn ``Pipeline`` saved with skops.

``Pipeline([("features", FeatureUnion(word [, char] TfidfVectorizer)), ("classifier",
LogisticRegression)])``, built only of scikit-learn classes, so ``skops.io.load`` needs no
tailtune. The fitted vectorizers are the run's own. The classifier step is a
``LogisticRegression`` carrying the run's linear weights with the softmax temperature (Guo et al.
2017) and the post-hoc logit adjustment ``- τ log π`` (Menon et al. 2021) folded into
``coef_`` / ``intercept_``: ``pipeline.predict_proba(texts)`` returns tailtune's probabilities
(multinomial softmax over ``decision_function``; for two classes, ``[1 - σ(d), σ(d)]``, the same
distribution), ``pipeline.predict(texts)`` tailtune's labels (``classes_`` are the label
strings), and ``pipeline.decision_function(texts)`` the adjusted logits.

skops is a safe format: loading builds only the types the file names, and types that skops does
not trust by default (listed in ``export.json``) must be passed to ``trusted=`` after review.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune.errors import TailtuneError
from tailtune.export._adjust import fold_binary, fold_linear
from tailtune.export._agree import agreement
from tailtune.export._source import Source, posthoc, reference_proba

__all__ = ["export_sklearn", "build_pipeline", "PIPELINE_FILE"]

PIPELINE_FILE = "pipeline.skops"


def export_sklearn(source: Source, folder: Path) -> dict:
    """Write ``folder/pipeline.skops``; check that it reproduces the run's probabilities."""
    sio = require("skops.io", "the sklearn export")
    reason = source.backend.export_refusal("sklearn")
    if reason is not None:
        raise TailtuneError(f"sklearn: {reason}")
    reference = reference_proba(source)
    pipe = build_pipeline(source)
    path = folder / PIPELINE_FILE
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    loaded = sio.load(path, trusted=untrusted)
    got = loaded.predict_proba(source.val_texts) if source.val_texts else reference[:0]
    tau, temperature, _ = posthoc(source.backend)
    return {
        "file": PIPELINE_FILE,
        "steps": [name for name, _ in pipe.steps],
        "posthoc_tau": tau,
        "temperature": temperature,
        "untrusted_types": sorted(untrusted),
        "agreement": agreement(reference, got, "tailtune predict", atol=1e-6),
    }


def build_pipeline(source: Source):
    """The scikit-learn ``Pipeline`` equivalent to the run's TF-IDF backend."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    backend = source.backend
    vectorizers, clf = backend.vectorizers_, backend.clf_
    if not hasattr(clf, "coef_"):
        raise TailtuneError(f"sklearn: classifier {type(clf).__name__} is not a linear model")
    tau, temperature, prior = posthoc(backend)
    if tau and prior is None:
        raise TailtuneError("sklearn: the run saved no class priors to fold posthoc_tau with")
    prior = np.full(len(source.classes), 1 / len(source.classes)) if prior is None else prior
    names = ["word", "char"][: len(vectorizers)] + [f"tfidf{i}" for i in range(2, len(vectorizers))]
    union = FeatureUnion([(n, copy.deepcopy(v)) for n, v in zip(names, vectorizers, strict=True)])
    coef, intercept = _folded(clf, prior, tau, temperature, len(source.classes))
    head = LogisticRegression()
    head.classes_ = np.asarray(source.classes, dtype=str)
    head.coef_ = coef
    head.intercept_ = intercept
    head.n_features_in_ = coef.shape[1]
    head.n_iter_ = np.asarray([0], dtype=np.int32)
    return Pipeline([("features", union), ("classifier", head)])


def _folded(clf, prior, tau: float, temperature: float, k: int):
    """Weights for ``LogisticRegression.predict_proba`` = tailtune's adjusted probabilities."""
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.broadcast_to(np.asarray(clf.intercept_, dtype=np.float64), (coef.shape[0],))
    svc = not hasattr(clf, "predict_proba")  # LinearSVC: tailtune softmaxes its margins / T
    if k == 2:
        # one margin s: LinearSVC's softmax over [-s, s] (2s), logistic regression's over [0, s]
        scale = 2.0 if svc else 1.0
        w, b = fold_binary(coef[0], intercept[0], prior, tau, temperature if svc else 1.0, scale)
        return w[None, :], np.asarray([b])
    return fold_linear(coef, intercept, prior, tau, temperature if svc else 1.0)

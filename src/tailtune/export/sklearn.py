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

A run on label sets (multi-label) exports as ``Pipeline([("features", ...), ("classifier",
MultiOutputClassifier)])`` whose estimator per label is a ``FixedThresholdClassifier`` around
that label's logistic regression, with the label's tuned threshold: ``pipeline.predict(texts)``
is tailtune's 0/1 matrix (texts × labels, columns in ``export.json``'s ``classes`` order, which
the pipeline also holds as ``labels_``) and ``pipeline.predict_proba(texts)[j][:, 1]`` label j's
score. The thresholds thus travel inside the pipeline, and in ``export.json``'s ``set_rule``.

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

__all__ = ["export_sklearn", "build_pipeline", "build_set_pipeline", "PIPELINE_FILE"]

PIPELINE_FILE = "pipeline.skops"


def export_sklearn(source: Source, folder: Path) -> dict:
    """Write ``folder/pipeline.skops``; check that it reproduces the run's probabilities."""
    sio = require("skops.io", "the sklearn export")
    reason = source.backend.export_refusal("sklearn")
    if reason is not None:
        raise TailtuneError(f"sklearn: {reason}")
    reference = reference_proba(source)
    rule = getattr(source.backend, "rule_", None)
    pipe = build_set_pipeline(source, rule) if rule is not None else build_pipeline(source)
    path = folder / PIPELINE_FILE
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    loaded = sio.load(path, trusted=untrusted)
    tau, temperature, _ = posthoc(source.backend)
    part = {
        "file": PIPELINE_FILE,
        "steps": [name for name, _ in pipe.steps],
        "posthoc_tau": tau,
        "temperature": temperature,
        "untrusted_types": sorted(untrusted),
    }
    if rule is None:
        got = loaded.predict_proba(source.val_texts) if source.val_texts else reference[:0]
        part["agreement"] = agreement(reference, got, "tailtune predict", atol=1e-6)
        return part
    part["set_rule"] = rule.to_dict()
    texts = source.val_texts
    got = (np.column_stack([p[:, 1] for p in loaded.predict_proba(texts)]) if texts
           else reference[:0])  # fmt: skip
    sets = loaded.predict(texts) if texts else np.zeros((0, len(source.classes)))
    part["agreement"] = agreement(reference, got, "tailtune predict", atol=1e-6, rule=rule,
                                  got_sets=sets)  # fmt: skip
    return part


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


def build_set_pipeline(source: Source, rule):
    """Label sets: features + one thresholded logistic regression per label (module docstring).

    Each label decides on its own here, so a rule with a top-k cap or at-least-one (which look
    across labels) is refused in one line."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import FixedThresholdClassifier
    from sklearn.multioutput import MultiOutputClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    if rule.top_k is not None or rule.at_least_one:
        raise TailtuneError(
            "sklearn: the run's label-set rule has objective.max_labels or at_least_one, which "
            "compare labels with each other; a scikit-learn pipeline decides each label alone. "
            "Serve the run with tailtune serve, or train without them"
        )
    backend = source.backend
    vectorizers = backend.vectorizers_
    names = ["word", "char"][: len(vectorizers)] + [f"tfidf{i}" for i in range(2, len(vectorizers))]
    union = FeatureUnion([(n, copy.deepcopy(v)) for n, v in zip(names, vectorizers, strict=True)])
    estimators = []
    for w, b, t in zip(backend.coef_, backend.intercept_, rule.thresholds, strict=True):
        lr = LogisticRegression()  # σ(w·x + b): the label's score as tailtune computes it
        lr.classes_ = np.asarray([0, 1])
        lr.coef_ = np.asarray(w, dtype=np.float64)[None, :]
        lr.intercept_ = np.asarray([float(b)])
        lr.n_features_in_ = lr.coef_.shape[1]
        lr.n_iter_ = np.asarray([0], dtype=np.int32)
        # score >= t, as tailtune's rule decides (FixedThresholdClassifier compares with >=)
        est = FixedThresholdClassifier(lr, threshold=float(t), response_method="predict_proba")
        est.estimator_ = lr
        estimators.append(est)
    head = MultiOutputClassifier(LogisticRegression())
    head.estimators_ = estimators
    head.classes_ = [np.asarray([0, 1]) for _ in estimators]
    head.n_features_in_ = estimators[0].estimator_.n_features_in_ if estimators else 0
    pipe = Pipeline([("features", union), ("classifier", head)])
    pipe.labels_ = list(source.classes)
    return pipe


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

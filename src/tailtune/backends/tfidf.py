"""TF-IDF features with a linear classifier: the CPU floor that trains in seconds.

Word n-grams (and optional char n-grams) feed scikit-learn's LogisticRegression or LinearSVC.
Class weights enter as per-example sample weights (so every weighting scheme of
:mod:`tailtune.objectives.weights` works the same here as in the neural loss), and post-hoc logit
adjustment (Menon et al. 2021) shifts the log-probabilities by ``-tau * log prior`` at prediction.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from tailtune.backends._common import (
    argmax_labels,
    encode_labels,
    read_backend_json,
    write_backend_json,
)

__all__ = ["TfidfBackend"]


class TfidfBackend:
    """TF-IDF + LogisticRegression / LinearSVC, with class weights and post-hoc logit adjustment."""

    name = "tfidf"

    def __init__(
        self,
        word_ngrams: tuple[int, int] | list[int] = (1, 2),
        char_ngrams: tuple[int, int] | list[int] | None = None,
        min_df: int = 1,
        max_features: int | None = 200_000,
        sublinear_tf: bool = True,
        classifier: str = "linear_svc",
        C: float = 0.5,
        max_iter: int = 2000,
        probability: str = "softmax",
        class_weights: str = "none",
        beta: float = 0.999,
        weight_cap: float | None = None,
        posthoc_tau: float = 0.0,
        tune_posthoc_tau: bool = False,
        seed: int = 0,
    ):
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.classifier = classifier
        self.C = C
        self.max_iter = max_iter
        self.probability = probability
        self.class_weights = class_weights
        self.beta = beta
        self.weight_cap = weight_cap
        self.posthoc_tau = posthoc_tau
        self.tune_posthoc_tau = tune_posthoc_tau
        self.seed = seed
        self.history_: list[dict] = []
        self.info_: dict = {}

    def get_params(self) -> dict:
        return {
            "word_ngrams": list(self.word_ngrams),
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "sublinear_tf": self.sublinear_tf,
            "classifier": self.classifier,
            "C": self.C,
            "max_iter": self.max_iter,
            "probability": self.probability,
            "class_weights": self.class_weights,
            "beta": self.beta,
            "weight_cap": self.weight_cap,
            "posthoc_tau": self.posthoc_tau,
            "tune_posthoc_tau": self.tune_posthoc_tau,
            "seed": self.seed,
        }

    # -- training ----------------------------------------------------------------------------

    def fit(self, texts, labels, eval_set=None, work_dir=None) -> TfidfBackend:
        from tailtune.objectives.weights import class_weights

        start = time.perf_counter()
        labels = np.asarray(labels, dtype=object).astype(str)
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.classes_ = self.classes_.astype(object)
        y = encode_labels(self.classes_, labels)
        self.prior_ = counts / counts.sum()

        self.vectorizers_ = self._make_vectorizers()
        X = self._featurize(texts, fit=True)
        weights = class_weights(counts, self.class_weights, beta=self.beta, cap=self.weight_cap)
        # Rescale so the mean per-example weight is 1: the weights then shift the balance
        # between classes without also changing the strength of the L2 penalty (1/C), which
        # would make weighted and unweighted runs differ in two variables, not one.
        sample_weight = weights[y] * (len(y) / weights[y].sum())
        self.clf_ = self._make_classifier()
        self.clf_.fit(X, y, sample_weight=sample_weight)

        self.temperature_ = 1.0
        if self.classifier == "linear_svc" and eval_set is not None:
            self.temperature_ = self._fit_temperature(eval_set)
        if self.tune_posthoc_tau and eval_set is not None:
            self.posthoc_tau = self._tune_tau(eval_set)
        self.info_ = {
            "n_features": int(X.shape[1]),
            "trainable_params": int(X.shape[1] * len(self.classes_) + len(self.classes_)),
            "fit_s": round(time.perf_counter() - start, 3),
            "posthoc_tau": self.posthoc_tau,
            "temperature": self.temperature_,
            "class_weight_min": float(weights.min()),
            "class_weight_max": float(weights.max()),
        }
        return self

    def _make_vectorizers(self) -> list[TfidfVectorizer]:
        vecs = [
            TfidfVectorizer(
                ngram_range=self.word_ngrams,
                min_df=self.min_df,
                max_features=self.max_features,
                sublinear_tf=self.sublinear_tf,
                dtype=np.float32,
            )
        ]
        if self.char_ngrams:
            vecs.append(
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=self.char_ngrams,
                    min_df=max(self.min_df, 2),
                    max_features=self.max_features,
                    sublinear_tf=self.sublinear_tf,
                    dtype=np.float32,
                )
            )
        return vecs

    def _featurize(self, texts, fit: bool = False):
        texts = list(texts)
        mats = [v.fit_transform(texts) if fit else v.transform(texts) for v in self.vectorizers_]
        return mats[0] if len(mats) == 1 else sp.hstack(mats, format="csr")

    def _make_classifier(self):
        if self.classifier == "linear_svc":
            # The dual solver: scikit-learn's "auto" picks the primal one when rows outnumber
            # features, which measured 2x slower on the 113-class preset (benchmarks/linear.py).
            return LinearSVC(C=self.C, dual=True, max_iter=self.max_iter, random_state=self.seed)
        # lbfgs on the multinomial loss: one joint softmax, so probabilities are coherent
        # across 100+ classes (one-vs-rest would need renormalizing).
        return LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.seed)

    def _known(self, eval_set):
        texts, labels = eval_set
        labels = np.asarray(labels, dtype=object).astype(str)
        known = np.isin(labels, self.classes_)
        texts = [t for t, k in zip(texts, known, strict=True) if k]
        return texts, encode_labels(self.classes_, labels[known])

    def _tune_tau(self, eval_set) -> float:
        from tailtune.objectives.adjust import tune_tau

        texts, y = self._known(eval_set)
        tau, _ = tune_tau(self._raw_proba(texts), y, self.prior_)
        return float(tau)

    def _fit_temperature(self, eval_set) -> float:
        """Temperature scaling of SVM margins on held-out data (Guo et al. 2017, ICML).

        Margins of a LinearSVC live in about [-2, 2], so a plain softmax is nearly uniform over
        100 classes; one temperature chosen by validation log-loss makes the probabilities
        usable (top-k, confidence, logit adjustment) without changing any argmax.
        """
        texts, y = self._known(eval_set)
        if len(y) == 0:
            return 1.0
        scores = self._scores(self._featurize(texts))
        grid = np.geomspace(0.01, 1.0, 41)
        nll = [_nll(scores / t, y) for t in grid]
        return float(grid[int(np.argmin(nll))])

    # -- prediction --------------------------------------------------------------------------

    def _raw_proba(self, texts) -> np.ndarray:
        X = self._featurize(texts)
        if hasattr(self.clf_, "predict_proba"):
            proba = self.clf_.predict_proba(X)
        else:
            # LinearSVC has no probabilities: a softmax of its margins keeps the ranking and gives
            # a usable confidence for top-k and error analysis (not calibrated).
            scores = self._scores(X) / getattr(self, "temperature_", 1.0)
            scores = scores - scores.max(axis=1, keepdims=True)
            proba = np.exp(scores)
            proba /= proba.sum(axis=1, keepdims=True)
        return np.asarray(proba, dtype=np.float64)

    def _scores(self, X) -> np.ndarray:
        scores = self.clf_.decision_function(X)
        if scores.ndim == 1:  # binary: one margin for the positive class
            scores = np.column_stack([-scores, scores])
        return scores

    def predict_proba(self, texts) -> np.ndarray:
        proba = self._raw_proba(texts)
        if self.posthoc_tau:
            from tailtune.objectives.adjust import adjust_probabilities

            proba = adjust_probabilities(proba, self.prior_, self.posthoc_tau)
        return proba

    def predict(self, texts) -> np.ndarray:
        return argmax_labels(self.classes_, self.predict_proba(texts))

    # -- persistence -------------------------------------------------------------------------

    def save(self, path) -> None:
        write_backend_json(path, self.name, self.get_params())
        state = {
            "classes": self.classes_,
            "prior": self.prior_,
            "vectorizers": self.vectorizers_,
            "clf": self.clf_,
            "info": self.info_,
            "temperature": self.temperature_,
        }
        with open(Path(path) / "model.pkl", "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, path) -> TfidfBackend:
        meta = read_backend_json(path)
        obj = cls(**meta["params"])
        with open(Path(path) / "model.pkl", "rb") as fh:
            state = pickle.load(fh)  # noqa: S301 - our own model file
        obj.classes_ = state["classes"]
        obj.prior_ = state["prior"]
        obj.vectorizers_ = state["vectorizers"]
        obj.clf_ = state["clf"]
        obj.info_ = state["info"]
        obj.temperature_ = state.get("temperature", 1.0)
        return obj


def _nll(scores: np.ndarray, y: np.ndarray) -> float:
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())

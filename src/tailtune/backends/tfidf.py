"""TF-IDF features with a linear classifier: the CPU floor that trains in seconds.

Word 1-2-grams and character 2-5-grams within word boundaries (char_wb) feed scikit-learn's LogisticRegression or LinearSVC.
Class weights enter as per-example sample weights (so every weighting scheme of
:mod:`tailtune.objectives.weights` works the same here as in the neural loss), and post-hoc logit
adjustment (Menon et al. 2021) shifts the log-probabilities by ``-tau * log prior`` at prediction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from tailtune._atomic import atomic_path
from tailtune._settings import check_choices
from tailtune.backends.base import BackendBase
from tailtune.errors import ConfigError
from tailtune.objectives.settings import ObjectiveSettings

__all__ = ["TfidfBackend", "TfidfSettings"]


@dataclass
class TfidfSettings:
    """TF-IDF features and a linear classifier (scikit-learn), config ``model.tfidf``."""

    word_ngrams: list[int] = field(default_factory=lambda: [1, 2])
    """Word n-gram range [min, max]."""
    char_ngrams: list[int] | None = field(default_factory=lambda: [2, 5])
    """Character n-gram range within word boundaries (char_wb); null = word n-grams only.
    On by default: char n-grams catch misspellings, inflections and redacted spans; on the four
    sets of benchmarks/RESULTS.md they raised test macro F1 on every one (+0.004 ATIS, +0.012
    GoEmotions, +0.022 Banking77, +0.039 CFPB) at 4-8x the fit time of word n-grams alone."""
    min_df: int = 1
    """Ignore n-grams in fewer training texts than this (char n-grams: at least 2)."""
    max_features: int | None = 200_000
    """Keep the most frequent n-grams per analyzer; null = all."""
    sublinear_tf: bool = True
    """Use 1 + log(tf) instead of raw term counts."""
    classifier: Literal["logreg", "linear_svc"] = "linear_svc"
    """LinearSVC fits 100+ classes in seconds where lbfgs logistic regression takes minutes,
    and scores as well on macro F1 (benchmarks/linear.py)."""
    C: float = 0.5
    """Inverse L2 regularization strength."""
    max_iter: int = 2000
    """Solver iterations."""
    probability: Literal["softmax", "calibrated"] = "softmax"
    """How probabilities are formed (softmax of temperature-scaled margins for LinearSVC)."""

    def validate(self, where: str = "model.tfidf") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.probability != "softmax":
            raise ConfigError(
                f"{where}.probability: got {self.probability!r}; only 'softmax' (of the "
                "temperature-scaled margins) is implemented"
            )
        for name in ("word_ngrams", "char_ngrams"):
            rng = getattr(self, name)
            if rng is not None and (len(rng) != 2 or not 1 <= rng[0] <= rng[1]):
                raise ConfigError(
                    f"{where}.{name}: got {rng}, expected [min, max] with 1 <= min <= max"
                )
        if self.C <= 0:
            raise ConfigError(f"{where}.C: got {self.C}, expected a positive number")
        for name in ("min_df", "max_iter"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}: got {getattr(self, name)}, expected at least 1")
        if self.max_features is not None and self.max_features < 1:
            raise ConfigError(f"{where}.max_features: got {self.max_features}, expected at least 1")


class TfidfBackend(BackendBase):
    """TF-IDF + LogisticRegression / LinearSVC, with class weights and post-hoc logit adjustment."""

    name = "tfidf"
    takes_sets = True
    settings = {"tfidf": TfidfSettings, "objective": ObjectiveSettings}
    uses = {
        "objective": (
            "class_weights", "beta", "weight_cap", "posthoc_tau", "tune_posthoc_tau",
            "posthoc_tau_max",
        )
    }  # fmt: skip
    export_forms = {"sklearn": "pipeline"}
    export_refusals = {
        "onnx": "a TF-IDF run exports with --format sklearn (a scikit-learn pipeline)",
        "hf": "a TF-IDF run is not a transformers model; export it with --format sklearn",
    }

    def __init__(
        self,
        tfidf: TfidfSettings | None = None,
        objective: ObjectiveSettings | None = None,
        temperature: float | None = None,
        seed: int = 0,
    ):
        self._store(locals())

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        from tailtune.objectives.weights import class_weights

        if self.space_.kind == "multi":
            return self._fit_ovr(texts, labels)

        start = time.perf_counter()
        y = self.space_.encode(labels)
        counts = np.bincount(y, minlength=len(self.classes_))
        self.vectorizers_ = self._make_vectorizers()
        X = self._featurize(texts, fit=True)
        o = self.objective
        weights = class_weights(counts, o.class_weights, beta=o.beta, cap=o.weight_cap)
        # Rescale so the mean per-example weight is 1: the weights then shift the balance
        # between classes without also changing the strength of the L2 penalty (1/C), which
        # would make weighted and unweighted runs differ in two variables, not one.
        sample_weight = weights[y] * (len(y) / weights[y].sum())
        self.clf_ = self._make_classifier()
        self.clf_.fit(X, y, sample_weight=sample_weight)

        self.temperature_ = 1.0 if self.temperature is None else float(self.temperature)
        if (
            self.temperature is None
            and self.tfidf.classifier == "linear_svc"
            and eval_set is not None
        ):
            self.temperature_ = self._fit_temperature(*self.space_.known(*eval_set))
        self.info_ = {
            "n_features": int(X.shape[1]),
            "trainable_params": int(X.shape[1] * len(self.classes_) + len(self.classes_)),
            "fit_s": round(time.perf_counter() - start, 3),
            "posthoc_tau": self.tau_,
            "temperature": self.temperature_,
            "class_weight_min": float(weights.min()),
            "class_weight_max": float(weights.max()),
        }

    def _fit_ovr(self, texts, sets) -> None:
        """Label sets: one binary linear model per label (one-vs-rest) on the same features;
        ``objective.class_weights`` weight each label's positive texts."""
        from tailtune.backends._sets import ovr_linear
        from tailtune.objectives.weights import positive_weights

        start = time.perf_counter()
        y = self.space_.encode(sets)
        self.vectorizers_ = self._make_vectorizers()
        X = self._featurize(texts, fit=True)
        o, s = self.objective, self.tfidf
        weights = None
        if o.class_weights != "none":
            weights = positive_weights(y, o.class_weights, beta=o.beta, cap=o.weight_cap)
        self.coef_, self.intercept_ = ovr_linear(
            X, y, classifier=s.classifier, C=s.C, max_iter=s.max_iter, seed=self.seed,
            pos_weights=weights,
        )  # fmt: skip
        self.temperature_ = 1.0
        self.info_ = {
            "n_features": int(X.shape[1]),
            "trainable_params": int(self.coef_.size + len(self.classes_)),
            "fit_s": round(time.perf_counter() - start, 3),
            "one_vs_rest": True,
        }

    def frozen_params(self) -> dict:
        """Params that pin what ``fit`` chose on validation data (τ, the SVM temperature)."""
        return {**super().frozen_params(), "temperature": self.temperature_}

    def _make_vectorizers(self) -> list:
        from sklearn.feature_extraction.text import TfidfVectorizer

        s = self.tfidf
        vecs = [
            TfidfVectorizer(
                ngram_range=tuple(s.word_ngrams),
                min_df=s.min_df,
                max_features=s.max_features,
                sublinear_tf=s.sublinear_tf,
                dtype=np.float32,
            )
        ]
        if s.char_ngrams:
            vecs.append(
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=tuple(s.char_ngrams),
                    min_df=max(s.min_df, 2),
                    max_features=s.max_features,
                    sublinear_tf=s.sublinear_tf,
                    dtype=np.float32,
                )
            )
        return vecs

    def _featurize(self, texts, fit: bool = False):
        import scipy.sparse as sp

        texts = list(texts)
        mats = [v.fit_transform(texts) if fit else v.transform(texts) for v in self.vectorizers_]
        return mats[0] if len(mats) == 1 else sp.hstack(mats, format="csr")

    def _make_classifier(self):
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        s = self.tfidf
        if s.classifier == "linear_svc":
            # The dual solver: scikit-learn's "auto" picks the primal one when rows outnumber
            # features, which measured 2x slower on the 113-class preset (benchmarks/linear.py).
            return LinearSVC(C=s.C, dual=True, max_iter=s.max_iter, random_state=self.seed)
        # lbfgs on the multinomial loss: one joint softmax, so probabilities are coherent
        # across 100+ classes (one-vs-rest would need renormalizing).
        return LogisticRegression(C=s.C, max_iter=s.max_iter, random_state=self.seed)

    def choice_lines(self, on: str, rows: int) -> tuple[list[str], bool]:
        """τ as every backend says it, and the SVM temperature when it was fitted here."""
        lines, on_val = super().choice_lines(on, rows)
        t = float(getattr(self, "temperature_", 1.0))
        if self.temperature is None and rows and t != 1.0:  # probabilities only
            lines.append(f"temperature {t:.3g} fitted on {on} (probabilities only: validation "
                         "calibration figures are optimistic)")  # fmt: skip
        return lines, on_val

    def _fit_temperature(self, texts: list[str], y: np.ndarray) -> float:
        """Temperature scaling of SVM margins on held-out data (Guo et al. 2017, ICML).

        Margins of a LinearSVC live in about [-2, 2], so a plain softmax is nearly uniform over
        100 classes; one temperature chosen by validation log-loss makes the probabilities
        usable (top-k, confidence, logit adjustment) without changing any argmax.
        """
        if len(y) == 0:
            return 1.0
        scores = self._scores(self._featurize(texts))
        grid = np.geomspace(0.01, 1.0, 41)
        nll = [_nll(scores / t, y) for t in grid]
        return float(grid[int(np.argmin(nll))])

    # -- prediction --------------------------------------------------------------------------

    def _raw_proba(self, texts) -> np.ndarray:
        X = self._featurize(texts)
        if self.space_.kind == "multi":  # one sigmoid per label
            from tailtune.backends._sets import sigmoid

            return sigmoid(np.asarray(X @ self.coef_.T) + self.intercept_)
        if hasattr(self.clf_, "predict_proba"):
            proba = self.clf_.predict_proba(X)
        else:
            # LinearSVC has no probabilities: a softmax of its margins keeps the ranking and gives
            # a usable confidence for top-k and error analysis (not calibrated).
            scores = self._scores(X) / self.temperature_
            scores = scores - scores.max(axis=1, keepdims=True)
            proba = np.exp(scores)
            proba /= proba.sum(axis=1, keepdims=True)
        return np.asarray(proba, dtype=np.float64)

    def _scores(self, X) -> np.ndarray:
        scores = self.clf_.decision_function(X)
        if scores.ndim == 1:  # binary: one margin for the positive class
            scores = np.column_stack([-scores, scores])
        return scores

    # -- persistence -------------------------------------------------------------------------
    # The vectorizers are rebuilt from their vocabulary and idf, the linear model from coef_ and
    # intercept_ (plain arrays, never pickle); predictions after load equal those before save.

    def _state(self, path: Path) -> dict:
        """Vocabularies and the temperature in ``state.json``; idf and weights in ``arrays.npz``."""
        multi = self.space_.kind == "multi"
        coef, intercept = (self.coef_, self.intercept_) if multi else (self.clf_.coef_,
                                                                       self.clf_.intercept_)  # fmt: skip
        arrays = {"coef": coef, "intercept": np.asarray(intercept)}
        vocabularies = []
        for i, vec in enumerate(self.vectorizers_):
            terms = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
            vocabularies.append({"analyzer": vec.analyzer, "terms": terms})
            arrays[f"idf{i}"] = vec.idf_
        with atomic_path(path / "arrays.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        return {"vectorizers": vocabularies, "temperature": self.temperature_}

    def _restore(self, path: Path, state: dict, **options) -> None:
        with np.load(path / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        self.vectorizers_ = []
        templates = self._make_vectorizers()
        for i, (vec, saved) in enumerate(zip(templates, state["vectorizers"], strict=True)):
            vec.set_params(vocabulary={t: j for j, t in enumerate(saved["terms"])})
            vec.idf_ = arrays[f"idf{i}"]
            self.vectorizers_.append(vec)
        self.temperature_ = float(state["temperature"])
        if self.space_.kind == "multi":
            self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
            return
        self.clf_ = self._make_classifier()
        self.clf_.coef_ = arrays["coef"]
        self.clf_.intercept_ = arrays["intercept"]
        k = len(self.classes_)
        self.clf_.classes_ = np.arange(k) if k > 2 else np.arange(2)
        self.clf_.n_features_in_ = arrays["coef"].shape[1]


def _nll(scores: np.ndarray, y: np.ndarray) -> float:
    z = scores - scores.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())

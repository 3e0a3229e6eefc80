"""Class prototypes over frozen sentence embeddings: no training loop, every class on equal terms.

Each class is its centroid, the normalized mean of its training texts' embeddings (the nearest
class mean classifier of Mensink et al. 2013, the prototypes of Snell et al. 2017's networks);
a text goes to the class whose centroid is most cosine-similar. A class's score depends on its
own examples only, not on how many the other classes have, which is why the rule holds up on tail
classes where a trained head leans to the frequent ones; and a class can be added by embedding
its examples, with no retraining. ``rule="knn"`` instead lets the ``k`` most similar training
texts vote, each with weight ``exp(similarity / temperature)``.

Probabilities are a softmax of the similarities divided by ``temperature`` (centroid) or the
normalized vote weights (k-NN); post-hoc logit adjustment (Menon et al. 2021) applies on top
through ``objective.posthoc_tau``.

Label sets (multi-label): a label's centroid is the mean of the texts carrying it, and each label
is scored on its own, with no softmax across labels: the cosine similarity to its centroid
(negatives clipped to 0: an opposite text is no nearer the label than an orthogonal one), or,
with k-NN, the weighted share of the ``k`` nearest training texts that carry it (the vote of
Zhang & Zhou 2007's ML-kNN without its Bayesian step). Per-label thresholds tuned on validation
then turn these scores into sets, as for every backend.

Embeddings come from the shared cache of
:mod:`tailtune.backends._embeddings`, so a prototype run after an ``embedding_head`` run on the
same model and texts embeds nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from tailtune._atomic import atomic_path
from tailtune.backends._embeddings import FrozenEncoder
from tailtune.backends._long_text import TextWindow
from tailtune.backends.base import BackendBase
from tailtune.backends.embedding_head import HeadSettings
from tailtune.errors import ConfigError, DataError
from tailtune.objectives.settings import ObjectiveSettings

__all__ = ["PrototypeBackend"]

RULES = ("centroid", "knn")


class PrototypeBackend(FrozenEncoder, BackendBase):
    """Cosine similarity to class centroids (or a k-NN vote) over cached sentence embeddings."""

    name = "prototype"
    takes_sets = True
    settings = {"embedding": HeadSettings, "objective": ObjectiveSettings, "window": TextWindow}
    uses = {
        "embedding": ("pooling", "normalize", "embed_batch_size", "cache_dir"),
        "objective": (
            "posthoc_tau",
            "tune_posthoc_tau",
            "posthoc_tau_max",
            "tune_thresholds",
            "threshold_shrink",
            "max_labels",
            "at_least_one",
        ),
    }

    def __init__(
        self,
        model_name: str = "sentence-transformers/all-MiniLM-L6-v2",
        max_length: int = 128,
        embedding: HeadSettings | None = None,
        objective: ObjectiveSettings | None = None,
        rule: str = "centroid",
        k: int = 10,
        temperature: float = 0.05,
        seed: int = 42,
        window: TextWindow | None = None,
    ):
        self._store(locals())

    def _check_params(self) -> None:
        super()._check_params()
        if self.rule not in RULES:
            raise ConfigError(f"prototype.rule: got {self.rule!r}, expected one of {RULES}")
        if self.k < 1:
            raise ConfigError(f"prototype.k: got {self.k}, expected at least 1")
        if not self.temperature > 0:
            raise ConfigError(f"prototype.temperature: got {self.temperature}, expected > 0")

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        start = time.perf_counter()
        x, hit = self._embed(texts)
        x = _unit(x)
        y = self.space_.encode(labels)  # class indices, or (label sets) a 0/1 matrix
        k = len(self.classes_)
        if self.rule == "centroid":
            if y.ndim == 2:  # label sets: a text adds to the centroid of every label it carries
                sums = y.T.astype(np.float64) @ x
            else:
                sums = np.zeros((k, x.shape[1]), dtype=np.float64)
                np.add.at(sums, y, x)
            self.prototypes_ = _unit(sums).astype(np.float32)
            self.prototype_labels_ = np.arange(k)
        else:  # every training text is a prototype of its class (of its labels: a 0/1 row)
            self.prototypes_ = x
            self.prototype_labels_ = y.astype(np.uint8 if y.ndim == 2 else np.int64)
        self.info_ = {
            "rule": self.rule,
            "train_texts": len(texts),  # the prior's denominator, for add_class
            "prototypes": int(len(self.prototypes_)),
            "embedding_dim": int(x.shape[1]),
            "embedding_cache_hit": bool(hit),
            "trainable_params": 0,
            "fit_s": round(time.perf_counter() - start, 3),
        }
        encoder = self._encoder_size(texts)
        if encoder is not None:
            self.info_["encoder_params"] = encoder

    def add_class(self, label: str, texts) -> PrototypeBackend:
        """Add class ``label`` from a few example ``texts``, without retraining.

        The new class's prototype is built as ``fit`` builds one (the centroid of its texts'
        embeddings, or each text for ``knn``); the prior counts its texts among the training
        texts, so every old class's prior shrinks by the same factor and, with post-hoc τ, their
        order is unchanged. A text predicted as an old class before is predicted as the same
        class after, unless the new class now scores highest.
        """
        label, texts = str(label), [str(t) for t in texts]
        if getattr(self, "kind_", "single") != "single":
            raise ConfigError("add_class: a model of label sets has no single-class prototypes")
        if label in set(map(str, self.classes_)):
            raise DataError(f"add_class: '{label}' is already a class of this model")
        if not texts or not all(t.strip() for t in texts):
            raise DataError(f"add_class: '{label}' needs at least one non-empty example text")
        n = int(self.info_.get("train_texts", 0))
        if n < 1:
            raise DataError("add_class: the saved model does not record its training size")
        x = _unit(self._embed(texts)[0])
        pos = int(np.searchsorted(self.classes_.astype(str), label))  # classes_ stay sorted
        if self.rule == "centroid":  # row j of prototypes_ is class j: insert in place
            centroid = _unit(x.sum(axis=0, keepdims=True)).astype(np.float32)
            self.prototypes_ = np.insert(self.prototypes_, pos, centroid, axis=0)
            self.prototype_labels_ = np.arange(len(self.prototypes_))
        else:  # every example text is a prototype; the later classes' indices shift by one
            shifted = self.prototype_labels_ + (self.prototype_labels_ >= pos)
            self.prototypes_ = np.concatenate([self.prototypes_, x.astype(np.float32)])
            self.prototype_labels_ = np.concatenate([shifted, np.full(len(x), pos)])
        self.classes_ = np.insert(self.classes_.astype(object), pos, label)
        self.prior_ = np.insert(self.prior_ * n, pos, len(texts)) / (n + len(texts))
        added = [*self.info_.get("added_classes", []), {"label": label, "texts": len(texts)}]
        self.info_ = {
            **self.info_,
            "train_texts": n + len(texts),
            "prototypes": int(len(self.prototypes_)),
            "added_classes": added,
        }
        return self

    def _raw_proba(self, texts) -> np.ndarray:
        x = _unit(self._embed(texts)[0])
        out = np.zeros((len(x), len(self.classes_)))
        for start in range(0, len(x), 1024):  # bounded memory: 1024 rows x all prototypes
            sim = x[start : start + 1024] @ self.prototypes_.T
            out[start : start + 1024] = self._scores(sim)
        return out

    def _scores(self, sim: np.ndarray) -> np.ndarray:
        """Probabilities (rows sum to 1) from similarities to the prototypes; for label sets, one
        score in [0, 1] per label (module docstring)."""
        sets = getattr(self, "kind_", "single") == "multi"
        if self.rule == "centroid" and sets:
            return np.clip(sim, 0.0, 1.0)
        if self.rule == "centroid":
            z = sim / self.temperature
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        k = min(self.k, sim.shape[1])
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(sim, top, axis=1)
        weight = np.exp((near - near.max(axis=1, keepdims=True)) / self.temperature)
        if sets:  # each label: the weighted share of the k neighbours that carry it
            carried = self.prototype_labels_[top].astype(np.float64)  # (n, k, labels)
            return (weight[:, :, None] * carried).sum(axis=1) / weight.sum(axis=1, keepdims=True)
        votes = np.zeros((len(sim), len(self.classes_)))
        rows = np.repeat(np.arange(len(sim)), k)
        np.add.at(votes, (rows, self.prototype_labels_[top].ravel()), weight.ravel())
        return votes / votes.sum(axis=1, keepdims=True)

    def _state(self, path: Path) -> dict:
        with atomic_path(path / "prototypes.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, prototypes=self.prototypes_, labels=self.prototype_labels_)
        return {}

    def _restore(self, path: Path, state: dict, **options) -> None:
        with np.load(path / "prototypes.npz", allow_pickle=False) as z:
            self.prototypes_, self.prototype_labels_ = z["prototypes"], z["labels"]


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine similarity is then a dot product)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

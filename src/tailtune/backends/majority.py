"""The majority-class baseline: the floor every other number is read against.

On a long tail it scores the head class's share in accuracy and about 1/K of a class in macro F1
(e.g. 23% accuracy but 0.003 macro F1 on 113 complaint issues), which is why macro F1 is the
headline metric.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tailtune.backends._common import argmax_labels, read_backend_json, write_backend_json
from tailtune.backends.base import BackendBase, check_fit_input

__all__ = ["MajorityBackend"]


class MajorityBackend(BackendBase):
    """Predicts the training prior: every example gets the most frequent training class."""

    name = "majority"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.history_: list[dict] = []
        self.info_: dict = {}

    def fit(self, texts, labels, eval_set=None, work_dir=None) -> MajorityBackend:
        check_fit_input(texts, labels, eval_set)
        classes, counts = np.unique(
            np.asarray(labels, dtype=object).astype(str), return_counts=True
        )
        self.classes_ = classes
        self.prior_ = counts / counts.sum()
        self.info_ = {"trainable_params": 0}
        return self

    def predict_proba(self, texts) -> np.ndarray:
        return np.tile(self.prior_, (len(texts), 1))

    def predict(self, texts) -> np.ndarray:
        return argmax_labels(self.classes_, self.predict_proba(texts))

    def save(self, path) -> None:
        write_backend_json(path, self.name, self.get_params(deep=False))
        state = {"classes": self.classes_.tolist(), "prior": self.prior_.tolist()}
        (Path(path) / "state.json").write_text(json.dumps(state))

    @classmethod
    def load(cls, path) -> MajorityBackend:
        meta = read_backend_json(path)
        state = json.loads((Path(path) / "state.json").read_text())
        obj = cls(**meta["params"])
        obj.classes_ = np.asarray(state["classes"], dtype=object)
        obj.prior_ = np.asarray(state["prior"])
        return obj

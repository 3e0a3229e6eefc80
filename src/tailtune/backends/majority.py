"""The majority-class baseline: the floor every other number is read against.

On a long tail it scores the head class's share in accuracy and about 1/K of a class in macro F1
(e.g. 23% accuracy but 0.003 macro F1 on 113 complaint issues), which is why macro F1 is the
headline metric.
"""

from __future__ import annotations

import numpy as np

from tailtune.backends.base import BackendBase

__all__ = ["MajorityBackend"]


class MajorityBackend(BackendBase):
    """Predicts the training prior: every example gets the most frequent training class."""

    name = "majority"
    sets_refusal = "it predicts the most frequent class, one per text"
    chance_by_design = True  # it is the chance predictor the guards measure others against
    export_refusals = dict.fromkeys(
        ("sklearn", "onnx", "hf"), "a majority-class run has no model to export"
    )

    def __init__(self, seed: int = 0):
        self._store(locals())

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        self.info_ = {"trainable_params": 0}

    def _raw_proba(self, texts) -> np.ndarray:
        return np.tile(self.prior_, (len(texts), 1))

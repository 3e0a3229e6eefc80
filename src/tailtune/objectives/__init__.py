"""Long-tail objectives: class weights, post-hoc logit adjustment, the back-off decision rule for
hierarchical labels, the threshold rule for label sets, and the ``ObjectiveSettings`` settings.

Names are imported on first use (PEP 562), so ``from tailtune.objectives import ObjectiveSettings`` (what
the config needs) costs no pandas import. Losses and samplers (torch) live in
``tailtune.objectives.losses`` / ``.samplers``; multi-label losses in ``.multilabel``.
"""

from __future__ import annotations

import importlib

from tailtune.objectives.settings import ObjectiveSettings

__all__ = [
    "BackoffRule",
    "DEFAULT_TAU_GRID",
    "SCHEMES",
    "ObjectiveSettings",
    "SetRule",
    "adjust_logits",
    "adjust_probabilities",
    "backoff_depths",
    "choose_thresholds",
    "class_weights",
    "positive_weights",
    "priors_from_counts",
    "sample_weights",
    "tune_set_rule",
    "tune_tau",
    "weight_table",
]

_LAZY = {
    "BackoffRule": "backoff",
    "backoff_depths": "backoff",
    "choose_thresholds": "backoff",
    "DEFAULT_TAU_GRID": "adjust",
    "adjust_logits": "adjust",
    "adjust_probabilities": "adjust",
    "priors_from_counts": "adjust",
    "tune_tau": "adjust",
    "SetRule": "thresholds",
    "tune_set_rule": "thresholds",
    "positive_weights": "weights",
    "SCHEMES": "weights",
    "class_weights": "weights",
    "sample_weights": "weights",
    "weight_table": "weights",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"tailtune.objectives.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'tailtune.objectives' has no attribute {name!r}")

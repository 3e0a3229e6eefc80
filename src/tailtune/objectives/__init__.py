"""Long-tail objectives: class weights and post-hoc logit adjustment (numpy, no torch here).

Losses and samplers (torch) live in ``tailtune.objectives.losses`` / ``.samplers`` and are
imported from there, so that ``import tailtune.objectives`` stays light.
"""

from tailtune.objectives.adjust import (
    DEFAULT_TAU_GRID,
    adjust_logits,
    adjust_probabilities,
    priors_from_counts,
    tune_tau,
)
from tailtune.objectives.weights import SCHEMES, class_weights, sample_weights, weight_table

__all__ = [
    "DEFAULT_TAU_GRID",
    "SCHEMES",
    "adjust_logits",
    "adjust_probabilities",
    "class_weights",
    "priors_from_counts",
    "sample_weights",
    "tune_tau",
    "weight_table",
]

"""Class-aware resampling with replacement: class-balanced and square-root sampling.

Instance-balanced sampling (plain shuffling) draws class c with probability n_c / N. With
q ∈ [0, 1], class-aware sampling draws class c with probability n_c^q / Σ_j n_j^q and then an
example of that class uniformly (Kang et al. 2020, "Decoupling Representation and Classifier
for Long-Tailed Recognition", ICLR, eq. 1): q = 0 is class-balanced sampling, q = 1/2 the
square-root sampling of Mahajan et al. 2018 ("Exploring the Limits of Weakly Supervised
Pretraining"). Per example this is p_i ∝ n_{y_i}^(q − 1).

Every process of a data-parallel run computes the same epoch's draws from ``(seed, epoch)`` and
keeps its own disjoint share (draws ``rank, rank + W, rank + 2W, ...``), so W processes together
draw exactly the single-process epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tailtune.errors import ConfigError

__all__ = [
    "SAMPLERS",
    "class_sampling_probabilities",
    "example_probabilities",
    "sample_epoch",
    "set_example_probabilities",
]

SAMPLERS = {"class_balanced": 0.0, "sqrt": 0.5}


def class_sampling_probabilities(counts: Sequence[int] | np.ndarray, mode: str) -> np.ndarray:
    """Probability of drawing each class: ``n_c^q / Σ_j n_j^q`` (Kang et al. 2020, eq. 1).

    ``mode`` is ``class_balanced`` (q = 0, uniform over classes) or ``sqrt`` (q = 1/2).
    """
    q = _exponent(mode)
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or np.any(n <= 0):
        raise ValueError("counts must be a 1-D array of positive numbers")
    p = n**q
    return p / p.sum()


def example_probabilities(labels: Sequence[int] | np.ndarray, mode: str) -> np.ndarray:
    """Per-example draw probabilities ``p_i ∝ n_{y_i}^(q − 1)`` for integer labels."""
    q = _exponent(mode)
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y)
    p = counts[y].astype(np.float64) ** (q - 1.0)
    return p / p.sum()


def set_example_probabilities(y: np.ndarray, mode: str) -> np.ndarray:
    """Per-text draw probabilities of class-aware sampling when texts carry label sets.

    Draw a label with probability ∝ n_j^q, then one of its n_j texts uniformly (Kang et al.
    2020, eq. 1; the class-aware resampling of Wu et al. 2020, "Distribution-Balanced Loss for
    Multi-Label Classification in Long-Tailed Datasets", ECCV, §3.1). A text can be reached
    through each of its labels, so p_i ∝ Σ_{j ∈ y_i} n_j^(q − 1): texts carrying several labels
    are drawn more often, the over-sampling the distribution-balanced loss corrects. Texts with
    the empty set form one more "no label" class of their own, so they keep being drawn.
    """
    q = _exponent(mode)
    y = np.asarray(y, dtype=np.float64)
    empty = y.sum(axis=1) == 0
    counts = y.sum(axis=0)
    per_label = np.where(counts > 0, np.maximum(counts, 1.0) ** (q - 1.0), 0.0)
    p = y @ per_label
    if empty.any():
        p[empty] = float(empty.sum()) ** (q - 1.0)
    return p / p.sum()


def sample_epoch(
    probabilities: np.ndarray,
    num_samples: int,
    *,
    seed: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
) -> np.ndarray:
    """Indices drawn with replacement for one epoch, this process's share.

    ``num_samples`` is the epoch length over all processes; the draw depends only on
    ``(seed, epoch)``, and rank r keeps draws ``r::world_size`` (shares differ in size by at
    most one; the caller trims to equal step counts).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, {world_size})")
    rng = np.random.default_rng([int(seed), int(epoch)])
    draws = rng.choice(len(probabilities), size=int(num_samples), replace=True, p=probabilities)
    return draws[rank::world_size]


def _exponent(mode: str) -> float:
    """The q of a sampler name."""
    if mode not in SAMPLERS:
        raise ConfigError(
            f"objective.sampler: got {mode!r}, expected one of none, {', '.join(SAMPLERS)}"
        )
    return SAMPLERS[mode]

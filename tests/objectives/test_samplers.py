"""Class-aware samplers: frequencies (fixed seed) and the split across processes."""

import numpy as np
import pytest

from tailtune.errors import ConfigError
from tailtune.objectives.samplers import (
    class_sampling_probabilities,
    example_probabilities,
    sample_epoch,
)

pytestmark = pytest.mark.unit

LABELS = np.array([0] * 80 + [1] * 15 + [2] * 5)


def test_class_probabilities_by_hand():
    np.testing.assert_allclose(
        class_sampling_probabilities([80, 15, 5], "class_balanced"), [1 / 3] * 3
    )
    s = np.sqrt([80, 15, 5])  # 8.944, 3.873, 2.236
    np.testing.assert_allclose(class_sampling_probabilities([80, 15, 5], "sqrt"), s / s.sum())
    with pytest.raises(ConfigError, match="sampler"):
        class_sampling_probabilities([1, 2], "oversample")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("class_balanced", [1 / 3, 1 / 3, 1 / 3]), ("sqrt", [0.5942, 0.2573, 0.1485])],
)
def test_drawn_class_frequencies(mode, expected):
    p = example_probabilities(LABELS, mode)
    assert p.sum() == pytest.approx(1.0)
    idx = sample_epoch(p, 30_000, seed=7, epoch=0)
    freq = np.bincount(LABELS[idx], minlength=3) / len(idx)
    # binomial sd at n=30000 is <= 0.003; 0.01 is more than 3 sd
    np.testing.assert_allclose(freq, expected, atol=0.01)


def test_epochs_are_seeded_and_distinct():
    p = example_probabilities(LABELS, "sqrt")
    a = sample_epoch(p, 100, seed=1, epoch=0)
    assert np.array_equal(a, sample_epoch(p, 100, seed=1, epoch=0))
    assert not np.array_equal(a, sample_epoch(p, 100, seed=1, epoch=1))
    assert not np.array_equal(a, sample_epoch(p, 100, seed=2, epoch=0))


def test_ranks_draw_disjoint_shares_of_the_single_process_epoch():
    p = example_probabilities(LABELS, "class_balanced")
    full = sample_epoch(p, 101, seed=3, epoch=2)
    r0 = sample_epoch(p, 101, seed=3, epoch=2, rank=0, world_size=2)
    r1 = sample_epoch(p, 101, seed=3, epoch=2, rank=1, world_size=2)
    assert (len(r0), len(r1)) == (51, 50)
    merged = np.empty(101, dtype=full.dtype)
    merged[0::2], merged[1::2] = r0, r1
    assert np.array_equal(merged, full)
    with pytest.raises(ValueError):
        sample_epoch(p, 10, seed=0, epoch=0, rank=2, world_size=2)

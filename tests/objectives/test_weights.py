"""Class weights against hand-computed values and the 113-class complaint data's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from tailtune.errors import ConfigError
from tailtune.objectives.weights import class_weights, sample_weights, weight_table

pytestmark = pytest.mark.unit

# Four named classes of the complaint data plus 109 filler classes so that the totals match:
# 113 classes, 57,846 training examples.
CFPB_HEAD = [13333, 3905, 5, 4]
CFPB_COUNTS = CFPB_HEAD + [372] * 108 + [57846 - sum(CFPB_HEAD) - 372 * 108]


def test_none_is_ones():
    np.testing.assert_array_equal(class_weights([3, 1, 7]), [1.0, 1.0, 1.0])


def test_sqrt_inverse_hand_computed():
    # n^-1/2 = [1, 1/2, 1/4, 1/8], mean 15/32 -> [32/15, 16/15, 8/15, 4/15]
    w = class_weights([1, 4, 16, 64], "sqrt_inverse")
    np.testing.assert_allclose(w, [32 / 15, 16 / 15, 8 / 15, 4 / 15], rtol=1e-12)
    assert w.mean() == pytest.approx(1.0)


def test_sqrt_inverse_seed_ratio_is_about_60_not_2000():
    w = class_weights(CFPB_COUNTS, "sqrt_inverse")
    assert w.mean() == pytest.approx(1.0)
    ratio = w[3] / w[0]
    assert ratio == pytest.approx(np.sqrt(13333 / 4), rel=1e-12)
    assert ratio == pytest.approx(57.73, abs=0.01)
    assert w.max() / w.min() < 60  # the slide: "60x, not 2,000x"


def test_sqrt_inverse_reproduces_seed_table_shape():
    # The slide's absolute values depend on all 113 counts; their ratios do not. Scaled so the
    # 4-example class sits at 3.61, the other three rows round to the slide's numbers.
    w = class_weights(CFPB_HEAD, "sqrt_inverse")
    scaled = w * 3.61 / w[3]
    np.testing.assert_array_equal(np.round(scaled, 2), [0.06, 0.12, 3.23, 3.61])


def test_inverse_matches_sklearn_balanced_and_hand_values():
    # N = 10, K = 3: 10 / (3 * [1, 4, 5])
    w = class_weights([1, 4, 5], "inverse")
    np.testing.assert_allclose(w, [10 / 3, 10 / 12, 10 / 15], rtol=1e-12)
    y = np.repeat(["a", "b", "c"], [1, 4, 5])
    ref = compute_class_weight("balanced", classes=np.array(["a", "b", "c"]), y=y)
    np.testing.assert_allclose(w, ref, rtol=1e-12)


def test_inverse_seed_max_is_128_and_raw_ratio_2666():
    w = class_weights(CFPB_COUNTS, "inverse")
    assert w.max() == pytest.approx(57846 / (113 * 4), rel=1e-12)
    assert round(w.max()) == 128
    assert int(13333 / 5) == 2666  # the slide's "raw inverse" spread, for the record


def test_effective_number_hand_computed():
    # beta = 0.5: E_1 = 1, E_2 = (1 - 0.25) / 0.5 = 1.5 -> w ∝ [1, 2/3], sum to K=2 -> [1.2, 0.8]
    w = class_weights([1, 2], "effective_number", beta=0.5)
    np.testing.assert_allclose(w, [1.2, 0.8], rtol=1e-12)
    assert w.sum() == pytest.approx(2.0)


def test_effective_number_limits():
    counts = [1, 10, 1000]
    # beta -> 0: every class has effective number 1 -> no reweighting
    np.testing.assert_allclose(class_weights(counts, "effective_number", beta=1e-9), 1.0)
    # beta -> 1: effective number -> n, weights -> inverse frequency rescaled to sum K
    w = class_weights(counts, "effective_number", beta=1 - 1e-12)
    inv = 1 / np.array(counts, float)
    np.testing.assert_allclose(w, inv * 3 / inv.sum(), rtol=1e-6)
    # beta = 0.999 with n=13,333 stays finite and is almost flat between 5,000 and 13,333
    w = class_weights([5000, 13333, 4], "effective_number", beta=0.999)
    assert np.all(np.isfinite(w)) and w[0] / w[1] == pytest.approx(1.0, abs=0.01)


def test_cap_clips_after_normalization():
    w = class_weights([1, 4, 16, 64], "sqrt_inverse", cap=1.5)
    np.testing.assert_allclose(w, [1.5, 16 / 15, 8 / 15, 4 / 15], rtol=1e-12)
    assert class_weights(CFPB_COUNTS, "inverse", cap=10.0).max() == 10.0


def test_bad_inputs():
    with pytest.raises(ConfigError, match="sqrt_inverse"):
        class_weights([1, 2], "balanced")
    for bad in ([], [0, 3], [1.5, 2], [[1, 2]], [-1]):
        with pytest.raises(ValueError):
            class_weights(bad, "sqrt_inverse")
    with pytest.raises(ValueError, match="beta"):
        class_weights([1, 2], "effective_number", beta=1.0)
    with pytest.raises(ValueError, match="cap"):
        class_weights([1, 2], "inverse", cap=0)


def test_sample_weights_maps_labels():
    out = sample_weights(["b", "a", "b", "c"], ["a", "b", "c"], [0.5, 2.0, 3.0])
    np.testing.assert_array_equal(out, [2.0, 0.5, 2.0, 3.0])
    with pytest.raises(ValueError, match="'z'"):
        sample_weights(["z"], ["a"], [1.0])
    with pytest.raises(ValueError):
        sample_weights(["a"], ["a", "b"], [1.0])


def test_weight_table_sorted_by_count():
    df = weight_table({"rare": 4, "head": 16, "mid": 4, "top": 64}, "sqrt_inverse")
    assert list(df.columns) == ["label", "count", "weight"]
    assert df["label"].tolist() == ["top", "head", "mid", "rare"]
    # n^-1/2 = [1/8, 1/4, 1/2, 1/2], mean 11/32
    np.testing.assert_allclose(df["weight"], [4 / 11, 8 / 11, 16 / 11, 16 / 11], rtol=1e-12)

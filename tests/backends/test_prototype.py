"""The prototype backend on hand-made embeddings: centroid and k-NN rules, checked by hand."""

import numpy as np
import pytest

from tailtune.backends import load_backend
from tailtune.backends.embedding_head import HeadSettings
from tailtune.backends.prototype import PrototypeBackend
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit

# training texts a1, a2 (class a) and b1 (class b), and a query q, as 2-d unit vectors
VECTORS = {"a1": [1.0, 0.0], "a2": [0.8, 0.6], "b1": [0.0, 1.0], "q": [0.6, 0.8]}


def _backend(tmp_path, **kw) -> PrototypeBackend:
    b = PrototypeBackend(model_name="unused", embedding=HeadSettings(cache_dir=str(tmp_path)), **kw)
    # the frozen encoder is replaced by the table above (nothing to download or embed)
    b._embed = lambda texts: (np.asarray([VECTORS[t] for t in texts], dtype=np.float32), True)
    return b


def test_centroid_rule_by_hand(tmp_path):
    b = _backend(tmp_path).fit(["a1", "a2", "b1"], ["a", "a", "b"])
    # centroid of a: (0.9, 0.3) / |.| = (0.9487, 0.3162); cos(q, a) = 0.8222, cos(q, b) = 0.8
    np.testing.assert_allclose(b.prototypes_[0], [0.948683, 0.316228], atol=1e-6)
    p = b.predict_proba(["q"])[0]
    # softmax of the similarities / 0.05: p(a) = 1 / (1 + exp(-(0.8222 - 0.8) / 0.05)) = 0.6092
    assert p[0] == pytest.approx(0.609175, abs=1e-5)
    assert list(b.predict(["q", "b1"])) == ["a", "b"]
    assert b.info_["prototypes"] == 2 and b.info_["trainable_params"] == 0


def test_knn_rule_by_hand(tmp_path):
    b = _backend(tmp_path, rule="knn", k=3).fit(["a1", "a2", "b1"], ["a", "a", "b"])
    # similarities of q: a1 0.6, a2 0.96, b1 0.8; weights exp((s - 0.96) / 0.05)
    # = 0.000747, 1, 0.040762 -> p(a) = 1.000747 / 1.041509 = 0.960862
    assert b.predict_proba(["q"])[0][0] == pytest.approx(0.960862, abs=1e-5)
    one = _backend(tmp_path, rule="knn", k=1).fit(["a1", "a2", "b1"], ["a", "a", "b"])
    np.testing.assert_array_equal(one.predict_proba(["q"]), [[1.0, 0.0]])  # a2 alone votes


def test_save_load_keeps_the_prototypes(tmp_path):
    b = _backend(tmp_path, rule="knn", k=2).fit(["a1", "a2", "b1"], ["a", "a", "b"])
    b.save(tmp_path / "m")
    loaded = load_backend(tmp_path / "m")
    loaded._embed = b._embed
    np.testing.assert_array_equal(loaded.prototype_labels_, [0, 0, 1])
    np.testing.assert_array_equal(loaded.predict_proba(["q"]), b.predict_proba(["q"]))


def test_bad_settings_are_refused_by_fit_with_the_field(tmp_path):
    for kw, message in [({"rule": "mean"}, "prototype.rule"), ({"k": 0}, "prototype.k"),
                        ({"temperature": 0}, "prototype.temperature")]:  # fmt: skip
        backend = _backend(tmp_path, **kw)  # __init__ stores even a bad value
        with pytest.raises(ConfigError, match=message):
            backend.fit(["a1", "b1"], ["a", "b"])

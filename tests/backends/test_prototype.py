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


# a class added after training: texts c1, c2 point away from a and b; "aa" sorts between them
VECTORS.update({"c1": [-1.0, 0.0], "c2": [-0.6, -0.8]})


@pytest.mark.parametrize("rule", ["centroid", "knn"])
def test_add_class_predicts_the_new_class_and_keeps_the_old_predictions(tmp_path, rule):
    b = _backend(tmp_path, rule=rule, k=1).fit(["a1", "a2", "b1"], ["a", "a", "b"])
    before = list(b.predict(["q", "a1", "b1"]))
    b.add_class("aa", ["c1", "c2"])
    assert list(b.classes_) == ["a", "aa", "b"]  # still sorted: encode() relies on it
    assert list(b.predict(["c1", "c2"])) == ["aa", "aa"]
    assert list(b.predict(["q", "a1", "b1"])) == before == ["a", "a", "b"]
    # prior: 2, 1 training texts and 2 new ones -> 2/5, 2/5, 1/5 in class order a, aa, b
    np.testing.assert_allclose(b.prior_, [0.4, 0.4, 0.2])
    assert b.info_["added_classes"] == [{"label": "aa", "texts": 2}]
    assert b.info_["train_texts"] == 5
    if rule == "centroid":  # centroid of c1, c2: (-1.6, -0.8) / |.| = (-0.894427, -0.447214)
        np.testing.assert_allclose(b.prototypes_[1], [-0.894427, -0.447214], atol=1e-6)
    else:  # each example is a prototype; b's index moved from 1 to 2
        np.testing.assert_array_equal(b.prototype_labels_, [0, 0, 2, 1, 1])


def test_an_added_class_is_saved_with_the_model(tmp_path):
    b = _backend(tmp_path).fit(["a1", "a2", "b1"], ["a", "a", "b"]).add_class("aa", ["c1"])
    b.save(tmp_path / "m")
    loaded = load_backend(tmp_path / "m")
    loaded._embed = b._embed
    assert list(loaded.classes_) == ["a", "aa", "b"]
    np.testing.assert_array_equal(loaded.predict_proba(["q", "c2"]), b.predict_proba(["q", "c2"]))


def test_add_class_with_posthoc_tau_keeps_the_old_order(tmp_path):
    from tailtune.objectives.settings import ObjectiveSettings

    b = _backend(tmp_path, objective=ObjectiveSettings(posthoc_tau=1.0))
    b.fit(["a1", "a2", "b1"], ["a", "a", "b"])
    before = b.predict_proba(["q"])[0]
    after = b.add_class("aa", ["c1", "c2"]).predict_proba(["q"])[0]
    # every old prior shrinks by 3/5: log p - log prior moves by one constant, the ratio holds
    assert after[0] / after[2] == pytest.approx(before[0] / before[1], rel=1e-6)


def test_add_class_refuses_a_known_label_and_no_texts(tmp_path):
    from tailtune.errors import DataError

    b = _backend(tmp_path).fit(["a1", "a2", "b1"], ["a", "a", "b"])
    with pytest.raises(DataError, match="'b' is already a class"):
        b.add_class("b", ["c1"])
    with pytest.raises(DataError, match="needs at least one non-empty example text"):
        b.add_class("c", ["  "])
    assert list(b.classes_) == ["a", "b"]  # a refused class changes nothing


SETS = {"a1": ("x",), "a2": ("x", "y"), "b1": ("y",)}


def test_centroid_rule_on_label_sets_by_hand(tmp_path):
    texts = ["a1", "a2", "b1"]
    b = _backend(tmp_path).fit(texts, [SETS[t] for t in texts])
    # x = unit(a1 + a2) = (0.9487, 0.3162), y = unit(a2 + b1) = (0.4472, 0.8944); no softmax:
    # each label scores the cosine of q to its own centroid
    np.testing.assert_allclose(b.prototypes_[1], [0.447214, 0.894427], atol=1e-6)
    p = b.predict_proba(["q"])[0]
    assert p.tolist() == pytest.approx([0.822192, 0.983870], abs=1e-5)
    assert b.kind_ == "multi" and b.decision_ == "thresholds"
    assert tuple(b.predict(["q"])[0]) == ("x", "y")  # no validation: 0.5 for both labels


def test_knn_rule_on_label_sets_by_hand_and_round_trip(tmp_path):
    texts = ["a1", "a2", "b1"]
    b = _backend(tmp_path, rule="knn", k=2).fit(texts, [SETS[t] for t in texts])
    # q's two nearest: a2 (0.96, weight 1) and b1 (0.8, weight exp(-3.2) = 0.040762);
    # x is carried by a2 alone: 1 / 1.040762 = 0.960835; y by both: 1
    assert b.predict_proba(["q"])[0].tolist() == pytest.approx([0.960835, 1.0], abs=1e-5)
    b.save(tmp_path / "m")
    loaded = load_backend(tmp_path / "m")
    loaded._embed = b._embed
    np.testing.assert_array_equal(loaded.prototype_labels_, [[1, 0], [1, 1], [0, 1]])
    np.testing.assert_array_equal(loaded.predict_proba(["q"]), b.predict_proba(["q"]))
    assert loaded.rule_ == b.rule_


def test_label_set_thresholds_are_tuned_on_validation(tmp_path):
    texts = ["a1", "a2", "b1"]
    b = _backend(tmp_path).fit(texts, [SETS[t] for t in texts],
                               eval_set=(["q", "a1"], [("y",), ("x",)]))  # fmt: skip
    # validation scores: x: q 0.8222, a1 0.9487 (only a1 carries x); y: q 0.9839, a1 0.4472.
    # Best grid thresholds x 0.83, y 0.45; the global one (both labels) 0.83; shrunk by
    # n / (n + 10) with n = 1: x 0.83, y (0.45 + 10 * 0.83) / 11 = 0.7955 (kept to 4 places)
    assert b.rule_.thresholds == pytest.approx([0.83, 0.7955], abs=1e-9)
    assert [tuple(s) for s in b.predict(["q", "a1"])] == [("y",), ("x",)]  # 0.5 gave q both
    assert b.info_["thresholds"]["tuned"] is True

"""The hierarchical composite: top-down conditionals multiplied by hand, a child always under
its predicted parent, back-off chosen on validation and saved, routing losses counted."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.backends import _topdown as td
from tailtune.backends import clone, freeze, load_backend
from tailtune.backends.base import BackendBase
from tailtune.backends.hierarchical import HierarchicalBackend
from tailtune.data.hierarchy import Hierarchy
from tailtune.errors import ConfigError, DataError

pytestmark = pytest.mark.unit


class Fixed(BackendBase):
    """A stage whose probabilities are given per text (``table[text][label]``; the rest share
    what is left): lets a test set each classifier's output by hand."""

    name = "fixed"

    def __init__(self, table: dict | None = None, seed: int = 0):
        self.table = table
        self.seed = seed

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        pass  # the template method has learned classes_ from the labels

    def _raw_proba(self, texts):
        out = np.zeros((len(texts), len(self.classes_)))
        for i, t in enumerate(texts):
            given = {c: p for c, p in (self.table or {}).get(t, {}).items() if c in self.classes_}
            rest = [j for j, c in enumerate(self.classes_) if c not in given]
            left = max(0.0, 1.0 - sum(given.values()))
            for j, c in enumerate(self.classes_):
                out[i, j] = given.get(c, left / len(rest) if rest else 0.0)
        return out


TREE = Hierarchy.from_labels(["A", "A | x", "A | y", "B"], ["top", "sub"])


def test_options_add_an_end_where_paths_also_stop():
    assert td.options(TREE, ()) == ["A", "B"]
    assert td.options(TREE, ("A",)) == ["A | x", "A | y", "A | (end)"]
    assert td.options(TREE, ("B",)) == []
    assert td.target(TREE, ("A",), 2) == "A | (end)"
    assert td.target(TREE, ("B",), 2) is None
    assert td.target(TREE, ("A", "y"), 2) == "A | y"


def test_leaf_probabilities_are_the_product_of_conditionals():
    conds = {(): np.array([[0.6, 0.4]]), ("A",): np.array([[0.5, 0.3, 0.2]])}
    proba = td.leaf_proba(TREE, 1, lambda parent, rows: conds[parent][rows])
    # classes: A (= A then end), A | x, A | y, B
    assert TREE.classes == ["A", "A | x", "A | y", "B"]
    np.testing.assert_allclose(proba, [[0.6 * 0.2, 0.6 * 0.5, 0.6 * 0.3, 0.4]])


def test_restrict_masks_other_parents_children_and_renormalises():
    got = td.restrict(np.array([[0.2, 0.2, 0.6], [0.0, 0.0, 1.0]]), ["A | x", "A | y", "B | z"],
                      ["A | x", "A | y"])  # fmt: skip
    np.testing.assert_allclose(got, [[0.5, 0.5], [0.5, 0.5]])  # no mass left: uniform


LABELS = ["P | a", "P | b", "Q | a", "Q | c"] * 3


@pytest.mark.parametrize("per", ["level", "parent"])
def test_top_down_child_stays_under_the_predicted_parent(per):
    # the level-2 classifier is sure of "Q | c", but the top level says P: the answer is the
    # most probable child of P
    table = {"t": {"P": 0.7, "Q": 0.3, "Q | c": 0.9, "P | b": 0.06, "P | a": 0.04}}
    model = HierarchicalBackend(model=Fixed(table), strategy="top_down", per=per)
    model.fit(["u"] * len(LABELS), LABELS)
    proba = model.predict_proba(["t"])
    assert model.predict(["t"]).tolist() == ["P | b"]
    # P's children: per level, 0.06 and 0.04 renormalised; per parent, P's own classifier
    # sees only P's children, and table gives P | a 0.04, P | b 0.06 (rows sum to 0.1: the
    # remaining mass goes to no class of that stage, so it renormalises the same way)
    p = dict(zip(model.classes_, proba[0], strict=True))
    assert p["P | b"] == pytest.approx(0.7 * 0.6)
    assert p["P | a"] == pytest.approx(0.7 * 0.4)
    assert sum(p.values()) == pytest.approx(1.0)


def test_flat_decodes_top_down_from_summed_parents():
    # flat leaf argmax is Q | c (0.4), but P's leaves sum to 0.6: top-down decoding picks P
    table = {"t": {"P | a": 0.3, "P | b": 0.3, "Q | a": 0.0, "Q | c": 0.4}}
    top = HierarchicalBackend(model=Fixed(table)).fit(["u"] * len(LABELS), LABELS)
    leaf = HierarchicalBackend(model=Fixed(table), decode="leaf").fit(["u"] * len(LABELS), LABELS)
    assert top.predict(["t"]).tolist() == ["P | a"]
    assert leaf.predict(["t"]).tolist() == ["Q | c"]
    paths, path_proba = top.paths_proba(["t"])
    np.testing.assert_allclose(path_proba, [[0.6, 0.3]])


def _val_table():
    # validation rows: v0, v1 right at both levels with high confidence; v2 right at the top
    # only, v3 wrong at the top
    return {
        "v0": {"P | a": 0.9},
        "v1": {"Q | c": 0.8},
        "v2": {"P | a": 0.5, "P | b": 0.45},
        "v3": {"Q | a": 0.55, "P | a": 0.45},
    }


def test_backoff_thresholds_chosen_on_validation_and_applied():
    val = (["v0", "v1", "v2", "v3"], ["P | a", "Q | c", "P | b", "P | a"])
    model = HierarchicalBackend(model=Fixed(_val_table()), backoff_precision=1.0)
    model.fit(["u"] * len(LABELS), LABELS, eval_set=val)
    # the mass a row's table leaves is shared by the other leaves. Top level (leaves summed):
    # v2 0.95, v0 0.9 + 0.1/3, v1 0.8 + 0.2/3 right, v3 Q 0.55 wrong: precision 1 needs
    # p >= 0.8 + 0.2/3. Second level among those three: v0 0.9 right, v1 0.8 right, v2 P | a
    # 0.5 wrong: p >= 0.8
    assert model.backoff_.thresholds == pytest.approx((0.8 + 0.2 / 3, 0.8))
    out = model.predict_paths(["v0", "v2", "v3"])
    assert out["answer"] == ["P | a", "P", "unknown"]
    assert out["depth"].tolist() == [2, 1, 0]
    assert out["path"] == ["P | a", "P | a", "Q | a"]


def test_given_thresholds_win_and_a_wrong_count_is_one_line():
    model = HierarchicalBackend(model=Fixed(_val_table()), backoff_thresholds=[0.5, None])
    model.fit(["u"] * len(LABELS), LABELS)
    assert model.predict_paths(["v0", "v3"])["answer"] == ["P", "Q"]
    bad = HierarchicalBackend(model=Fixed(), backoff_thresholds=[0.5])
    with pytest.raises(ConfigError, match="1 thresholds for 2 levels"):
        bad.fit(["u"] * len(LABELS), LABELS)
    with pytest.raises(ConfigError, match="no validation split"):
        HierarchicalBackend(model=Fixed(), backoff_precision=0.9).fit(["u"] * 12, LABELS)
    with pytest.raises(DataError, match="a top-level class is named 'unknown'"):
        bad = HierarchicalBackend(model=Fixed(), backoff_thresholds=[0.5, 0.5])
        bad.fit(["u"] * 3, ["unknown | a", "P | a", "P | b"])


def test_routing_losses_count_rows_lost_above():
    table = {"x": {"Q": 1.0, "Q | a": 1.0}, "y": {"P": 1.0, "P | b": 1.0}}
    model = HierarchicalBackend(model=Fixed(table), strategy="top_down")
    model.fit(["u"] * len(LABELS), LABELS)
    got = model.evaluate(["x", "y"], ["P | a", "P | a"])
    # x: top level wrong (Q), so its Issue was lost to routing; y: right top, wrong child
    assert got["levels_eval"]["level 2"]["routing_lost"] == 1
    assert got["routing_lost"] == 1


@pytest.mark.parametrize("strategy,per", [("flat", "level"), ("top_down", "level"),
                                          ("top_down", "parent")])  # fmt: skip
def test_save_load_keeps_probabilities_and_rule(tmp_path, strategy, per):
    from tailtune.backends.tfidf import TfidfBackend, TfidfSettings

    texts = [f"{w} {i}" for i in range(6) for w in ("pa", "pb", "qa", "qc")]
    labels = ["P | a", "P | b", "Q | a", "Q | c"] * 6
    base = TfidfBackend(tfidf=TfidfSettings(char_ngrams=None, classifier="logreg"))
    model = HierarchicalBackend(model=base, strategy=strategy, per=per,
                                backoff_thresholds=[0.3, 0.5])  # fmt: skip
    model.fit(texts, labels, eval_set=(texts[:8], labels[:8]))
    assert model.predict(texts).tolist() == labels  # separable: every path right
    model.save(tmp_path / "m")
    back = load_backend(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(texts), model.predict_proba(texts))
    assert back.backoff_ == model.backoff_
    assert back.predict_paths(texts[:4])["answer"] == model.predict_paths(texts[:4])["answer"]
    again = freeze(model)
    assert again.backoff_thresholds == [0.3, 0.5]
    assert clone(back).fit(texts, labels).predict(texts[:4]).tolist() == labels[:4]


def test_config_section_errors_are_one_line():
    from tailtune.config import config_from_dict

    with pytest.raises(ConfigError, match="model.hierarchy.levels: one backend per level"):
        config_from_dict({"model": {"hierarchy": {"levels": [{"backend": "tfidf"}]}}})
    with pytest.raises(ConfigError, match=r"model.hierarchy.backoff_precision: got 1.5"):
        config_from_dict({"model": {"hierarchy": {"backoff_precision": 1.5}}})
    with pytest.raises(ConfigError, match=r"model.hierarchy.strategy"):
        config_from_dict({"model": {"hierarchy": {"strategy": "bottom_up"}}})


def test_per_level_backends_from_config_and_routing_info(tmp_path):
    from tailtune.backends import build_backend
    from tailtune.config import config_from_dict

    cfg = config_from_dict({
        "data": {"hierarchy": True, "label_columns": ["P", "I"]},
        "model": {"backend": "tfidf", "hierarchy": {
            "strategy": "top_down",
            "levels": [{"backend": "majority"}, {"model": {"tfidf": {"C": 3.0}}}]}},
    })  # fmt: skip
    model = build_backend(cfg)
    assert model.name == "hierarchical" and model.level_names == ["P", "I"]
    assert [m.name for m in model.levels] == ["majority", "tfidf"] and model.levels[
        1
    ].tfidf.C == 3.0
    texts = [f"{w} {i}" for i in range(6) for w in ("pa", "pb", "qa", "qc")] + ["pa x"] * 4
    labels = ["P | a", "P | b", "Q | a", "Q | c"] * 6 + ["P | a"] * 4
    model.fit(texts, labels)
    # the top level is a majority classifier (P: 16 of 28 rows): every row goes to P, so every
    # Q row's Issue is lost to routing
    got = model.evaluate(texts, labels)
    assert got["levels_eval"]["I"]["routing_lost"] == 12
    assert set(model.predict(texts)) <= {"P | a", "P | b"}


def test_hierarchy_settings_without_paths_are_refused():
    from tailtune.backends.build import check_settings
    from tailtune.config import config_from_dict

    cfg = config_from_dict({"model": {"hierarchy": {"strategy": "top_down"}}})
    with pytest.raises(ConfigError, match="model.hierarchy.strategy=top_down: applies to labels"):
        check_settings(cfg)
    ok = config_from_dict({"data": {"hierarchy": True},
                           "model": {"hierarchy": {"strategy": "top_down"}}})  # fmt: skip
    assert check_settings(ok) == []


def test_summary_says_routing_only_for_a_model_that_routes():
    from tailtune.backends.hierarchical import HierarchicalBackend

    levels = {"Product": {"macro_f1": 0.5, "rows": 10, "routing_lost": 0},
              "Issue": {"macro_f1": 0.25, "rows": 10, "routing_lost": 3}}  # fmt: skip
    flat = HierarchicalBackend.summary_lines({"strategy": "flat", "levels_eval": levels})
    assert flat[-1] == "  Issue: macro F1 0.250 on 10 rows, under a wrong parent 3"
    assert not any("routing" in line for line in flat)
    top = HierarchicalBackend.summary_lines({"strategy": "top_down", "levels_eval": levels})
    assert top[-1] == "  Issue: macro F1 0.250 on 10 rows, routing lost 3"

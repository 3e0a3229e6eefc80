"""Cascade: head/tail split, combined probabilities, the four figures, routing losses by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.backends.cascade import OTHER, CascadeBackend, routing_losses, split_head
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit


def test_split_head_by_threshold_and_top_k():
    labels = ["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] * 1 + ["e"] * 1
    assert split_head(labels, head_threshold=3) == (["a", "b", "c"], ["d", "e"])
    assert split_head(labels, head_top_k=2) == (["a", "b"], ["c", "d", "e"])  # tie: by name
    with pytest.raises(ConfigError, match="no head class under head_threshold=9"):
        split_head(labels, head_threshold=9)
    with pytest.raises(ConfigError, match="at least 2"):
        split_head(labels, head_top_k=4)


def test_routing_losses_hand_count():
    head = ["A", "B"]
    gold = ["A", "A", "B", "x", "y", "y", "B", "x"]
    routed = ["A", OTHER, "A", "A", OTHER, "B", OTHER, OTHER]
    # tail sent to head: x->A, y->B = 2; head sent to OTHER: A, B = 2; B->A is a router
    # error between head classes, not a loss to routing
    assert routing_losses(gold, routed, head) == {
        "tail_sent_to_head": 2,
        "head_sent_to_other": 2,
        "routing_lost": 4,
    }


class _Keyword:
    """A stub stage: the label is the first word of the text when known, else the fallback."""

    def __init__(self, classes, fallback, probs=None):
        self.classes_ = np.asarray(sorted(classes), dtype=object)
        self.fallback = fallback
        self.probs = probs or {}

    def predict(self, texts):
        return np.asarray([self._one(t) for t in texts], dtype=object)

    def _one(self, text):
        word = text.split()[0]
        return word if word in self.classes_ else self.fallback

    def predict_proba(self, texts):
        rows = []
        for t in texts:
            row = np.full(len(self.classes_), 0.0)
            row[list(self.classes_).index(self._one(t))] = 1.0
            rows.append(self.probs.get(t, row))
        return np.asarray(rows)


def test_evaluate_and_predict_with_stub_stages_match_hand_counts():
    cascade = CascadeBackend(head_top_k=2)
    cascade.classes_ = np.asarray(["A", "B", "x", "y"], dtype=object)
    cascade.head_, cascade.tail_ = ["A", "B"], ["x", "y"]
    # the router knows A and B by their first word; "x"/"y" texts starting with "A" fool it
    cascade.router_ = _Keyword(["A", "B", OTHER], OTHER)
    cascade.specialist_ = _Keyword(["x", "y"], "x")
    texts = ["A one", "B two", "x three", "y four", "A five", "zzz six"]
    gold = ["A", "B", "x", "y", "x", "B"]
    # routed: A, B, OTHER, OTHER, A, OTHER -> final: A, B, x, y, A, x
    assert list(cascade.predict(texts)) == ["A", "B", "x", "y", "A", "x"]
    figures = cascade.evaluate(texts, gold)
    assert figures["tail_sent_to_head"] == 1  # "A five" (gold x) went to head class A
    assert figures["head_sent_to_other"] == 1  # "zzz six" (gold B) went to OTHER
    assert figures["routing_lost"] == 2
    # router on {A, B, OTHER}: gold A,B,O,O,O,B vs routed A,B,O,O,A,O
    # A: P 1/2 R 1; B: P 1 R 1/2; OTHER: P 2/3 R 2/3 -> every F1 is 2/3
    assert figures["router_macro_f1"] == pytest.approx(2 / 3)
    # specialist on gold-tail rows: x three->x, y four->y, A five->x (its fallback): all right
    assert figures["specialist_macro_f1"] == pytest.approx(1.0)
    # combined: A 2/3 (P 1/2 R 1), B 2/3 (P 1 R 1/2), x 1/2 (P 1/2 R 1/2), y 1
    assert figures["combined_macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0.5 + 1) / 4)


def test_predict_proba_combines_router_and_specialist():
    cascade = CascadeBackend(head_top_k=1)
    cascade.classes_ = np.asarray(["A", "x", "y"], dtype=object)
    cascade.head_, cascade.tail_ = ["A"], ["x", "y"]
    # router classes sorted: A, __other__ ; specialist: x, y
    cascade.router_ = _Keyword(["A", OTHER], OTHER, {"t": np.array([0.3, 0.7])})
    cascade.specialist_ = _Keyword(["x", "y"], "x", {"t": np.array([0.25, 0.75])})
    proba = cascade.predict_proba(["t"])
    np.testing.assert_allclose(proba, [[0.3, 0.7 * 0.25, 0.7 * 0.75]])
    assert proba.sum() == pytest.approx(1.0)


@pytest.mark.integration
def test_tfidf_cascade_on_synthetic_long_tail(tmp_path):
    from tailtune.backends import load_backend
    from tailtune.data.synth import synthesize

    df = synthesize("tiny", seed=0)  # 8 classes, 120 ... 15 examples
    rng = np.random.default_rng(0)
    val = rng.random(len(df)) < 0.3
    train_df, val_df = df[~val], df[val]
    tfidf = {"backend": "tfidf", "C": 10.0}
    cascade = CascadeBackend(head_threshold=50, router=tfidf, specialist=tfidf)
    cascade.fit(
        train_df.text.tolist(),
        train_df.label.tolist(),
        eval_set=(val_df.text.tolist(), val_df.label.tolist()),
    )
    info = cascade.info_
    counts = train_df.label.value_counts()
    assert info["n_head"] == int((counts >= 50).sum()) and info["n_tail"] == int(
        (counts < 50).sum()
    )
    # measured 0.74 / 0.47 / 0.52 (flat tfidf: 0.52); chance is 1/3, 1/6, 1/8
    assert info["router_macro_f1"] > 0.6
    assert info["specialist_macro_f1"] > 0.35
    assert info["combined_macro_f1"] > 0.4
    assert info["specialist_train_size"] == int(counts[counts < 50].sum())
    # the lost count equals a recount from the router's own predictions
    routed = cascade.router_.predict(val_df.text.tolist()).astype(str)
    gold = val_df.label.to_numpy().astype(str)
    gold_head = np.isin(gold, cascade.head_)
    assert info["routing_lost"] == int((gold_head & (routed == OTHER)).sum()) + int(
        (~gold_head & (routed != OTHER)).sum()
    )
    proba = cascade.predict_proba(val_df.text.tolist())
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)  # float32 tfidf
    cascade.save(tmp_path / "c")
    loaded = load_backend(tmp_path / "c")
    np.testing.assert_allclose(loaded.predict_proba(val_df.text.tolist()), proba)
    assert list(loaded.predict(val_df.text.tolist())) == list(cascade.predict(val_df.text.tolist()))

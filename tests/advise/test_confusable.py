"""Confusable pairs: a synthetic near-duplicate pair is found, a swamped class is not; merges."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.advise.confusable import (
    centroid_cosines,
    confusable_pairs,
    merged_macro_f1,
    name_similarity,
    similar_names,
)

pytestmark = pytest.mark.unit


def test_name_similarity_on_known_near_duplicates():
    assert name_similarity("Closing an account", "Closing your account") == 1.0
    assert name_similarity("Struggling to pay your loan", "Struggling to repay your loan") >= 0.7
    assert name_similarity("Card: billing dispute (card)", "Card: not honored (card)") < 0.5
    assert name_similarity("Incorrect information on your report", "Getting a loan") < 0.3


def test_synthetic_pair_found_and_swamped_class_not():
    gold = ["Closing an account"] * 10 + ["Closing your account"] * 10 + ["Fees"] * 30
    gold += ["Lost card"] * 10
    pred = (
        ["Closing an account"] * 4
        + ["Closing your account"] * 6  # 6 errors to its twin
        + ["Closing your account"] * 10
        + ["Fees"] * 30
        + ["Lost card"] * 3
        + ["Fees"] * 7
    )  # swamped by a dissimilar head class
    pairs = confusable_pairs(gold, pred)
    assert [(p["label"], p["other"]) for p in pairs] == [
        ("Closing an account", "Closing your account")
    ]
    assert pairs[0]["to_other"] == 6 and pairs[0]["share"] == 1.0
    assert "names" in pairs[0]["why"]


def test_text_similarity_flags_pairs_with_unrelated_names():
    texts = ["refund my card fee please"] * 5 + ["card fee refund now please"] * 5
    texts += ["the weather is sunny today"] * 5
    labels = ["A1"] * 5 + ["Z9"] * 5 + ["W"] * 5
    cos = centroid_cosines(texts, labels)
    assert cos.at["A1", "Z9"] > 0.9 and cos.at["A1", "W"] < 0.1
    pairs = confusable_pairs(["A1"] * 4, ["Z9"] * 3 + ["A1"], cos)
    assert pairs and pairs[0]["why"].startswith("texts")


def test_merged_macro_f1_by_hand():
    gold = ["a", "a", "b", "b", "c"]
    pred = ["b", "a", "a", "b", "c"]
    # before: F1 a = 0.5, b = 0.5, c = 1 -> 2/3; merged a+b: all right -> 1.0
    m = merged_macro_f1(gold, pred, [("a", "b")])
    assert m["before"] == pytest.approx(2 / 3) and m["after"] == pytest.approx(1.0)
    assert (m["n_classes_before"], m["n_classes_after"]) == (3, 2)


def test_similar_names_lists_pairs():
    out = similar_names(["Closing an account", "Closing your account", "Fees"])
    assert [(p["label"], p["other"]) for p in out] == [
        ("Closing an account", "Closing your account")
    ]
    assert np.isclose(out[0]["name_similarity"], 1.0)

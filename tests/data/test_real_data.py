"""The loaders on the real files in ../shared/data: counts must match each SOURCE.md."""

from __future__ import annotations

import pandas as pd
import pytest

from tailtune.data import class_stats, clean, load_table, split_frame, split_stats, subset_labels

pytestmark = pytest.mark.data

NARRATIVE = "Consumer complaint narrative"


def cfpb(shared_data, labels):
    d = shared_data / "cfpb"
    return load_table(
        [d / "bdm_complaints_sample_2015-2020.csv", d / "payday_personal_loan_narratives_2023.csv"],
        skip_rows=[2, 0],  # two lines of unzip output precede the header of file 1
        text_columns=[NARRATIVE],
        label_columns=labels,
    )


def test_cfpb_union_of_narratives_issue(shared_data):
    r = cfpb(shared_data, ["Issue"])
    assert r.report["rows_read"] == 6_623 + 2_827
    assert r.report["rows"] == 4_359 and r.report["classes"] == 76
    assert r.report["removed"]["empty_text"]["count"] == 6_623 - 1_532
    s = class_stats(r.frame["label"])
    assert s["largest"]["count"] == 721 and s["classes_under_20"] == 45
    assert sum(1 for n in s["counts"].values() if n < 5) == 26
    # the first narrative is the record starting on physical line 5 (header on line 3)
    first = r.frame.iloc[0]
    assert (first["id"], first["line"]) == ("bdm_complaints_sample_2015-2020:5", 5)
    assert first["text"].startswith("transworld systems inc. \nis trying to collect")


def test_cfpb_composite_product_issue(shared_data):
    r = cfpb(shared_data, ["Product", "Issue"])
    assert r.report["classes"] == 96
    assert class_stats(r.frame["label"])["classes_under_20"] == 65


def test_cfpb_split_done_when_case(shared_data):
    f, rep = clean(cfpb(shared_data, ["Issue"]).frame, min_class_size=2)
    assert len(rep.dropped_classes) == 76 - 64
    s = split_frame(f, val=0.2, seed=42)
    assert len(s.val) == round(0.2 * len(f))
    st = split_stats(s.train["label"], s.val["label"])
    assert st["val_classes_missing_from_train"] == [] and st["train_classes"] == 64


def test_goemotions_train_keep_and_single(shared_data):
    d = shared_data / "goemotions"
    common = dict(
        column_names=["text", "label_ids", "comment_id"],
        label_columns="label_ids",
        label_names=d / "labels.txt",
        multi_label_separator=",",
    )
    keep = load_table(d / "train.tsv", **common)
    assert keep.report["rows"] == 43_410
    # CSV-quoted texts are unescaped exactly as SOURCE.md's recommended pandas call does
    ref = pd.read_csv(d / "train.tsv", sep="\t", header=None, names=["text", "labels", "id"])
    assert keep.frame["text"].tolist() == ref["text"].tolist()
    single = load_table(d / "train.tsv", multi_label="single", **common)
    assert single.report["rows"] == 43_410 - 7_102
    assert single.report["removed"]["multi_label"]["count"] == 7_102
    assert single.report["classes"] == 28
    for k in (2, 4, 8, 16):  # seed 003's grid, largest cell
        sub = subset_labels(single.frame, k, total=2400, seed=0)
        assert len(sub) == 2400 // k * k and sub["label"].nunique() == k
    assert load_table(d / "dev.tsv", **common).report["rows"] == 5_426


def test_atis_line_aligned(shared_data):
    r = load_table(shared_data / "atis" / "train", format="lines")
    assert r.report["rows"] == 4_478 and r.report["classes"] == 21
    s = class_stats(r.frame["label"])
    assert s["largest"] == {"label": "atis_flight", "count": 3_309}
    assert s["classes_under_20"] == 13
    single = load_table(
        shared_data / "atis" / "train", multi_label_separator="#", multi_label="single"
    )
    assert single.report["removed"]["multi_label"]["count"] == 23
    assert load_table(shared_data / "atis" / "test", format="lines").report["rows"] == 893


def test_banking77(shared_data):
    d = shared_data / "banking77"
    train = load_table(d / "train.csv", label_columns="category")
    s = class_stats(train.frame["label"])
    assert (s["rows"], s["classes"]) == (10_003, 77)
    assert s["largest"] == {"label": "card_payment_fee_charged", "count": 187}
    assert s["smallest"] == {"label": "contactless_not_working", "count": 35}
    test = load_table(d / "test.csv", label_columns="category").frame
    assert set(test["label"].value_counts()) == {40}

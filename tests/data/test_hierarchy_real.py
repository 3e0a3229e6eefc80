"""Hierarchies of the real CFPB samples: per-level counts as the data holds them."""

from __future__ import annotations

import pytest

from tailtune.data import Hierarchy, level_stats, load_table

pytestmark = pytest.mark.data

NARRATIVE = "Consumer complaint narrative"


def test_cfpb_product_issue_subissue(shared_data):
    r = load_table(
        shared_data / "cfpb/bdm_complaints_sample_2015-2020.csv",
        skip_rows=2,
        text_columns=[NARRATIVE],
        label_columns=["Product", "Issue", "Sub-issue"],
        hierarchy=True,
    )
    # every narrative row is kept: 216 of them have no Sub-issue and stop at their Issue
    assert r.report["rows"] == 1_532 and "empty_label" not in r.report["removed"]
    labels = r.frame["label"]
    h = Hierarchy.from_labels(labels, ["Product", "Issue", "Sub-issue"])
    product, issue, sub = level_stats(labels, h)
    assert (product["classes"], issue["classes"], sub["classes"]) == (13, 79, 140)
    assert sub["rows"] == 1_532 - 216
    # 31 Issues have no Sub-issue in this sample; 8 Issue names sit under several Products
    assert (issue["leaves"], issue["names_under_several_parents"]) == (31, 8)
    assert len(h.leaves) == 31 + 140

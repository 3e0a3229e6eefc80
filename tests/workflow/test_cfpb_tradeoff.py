"""The real-data case: TF-IDF on both CFPB samples, label Issue, with and without class weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tailtune.config import load_config
from tailtune.runs import read_run
from tests.parallel_runs import train_side_by_side

pytestmark = pytest.mark.data

_REPO = Path(__file__).resolve().parents[2]
_DATA = Path(os.environ.get("TAILTUNE_SHARED_DATA", _REPO / "../shared/data")).resolve()


@pytest.fixture(scope="module")
def cfpb_runs(tmp_path_factory):
    if not (_DATA / "cfpb").is_dir():
        pytest.skip(f"real data folder not found: {_DATA}")
    runs = tmp_path_factory.mktemp("cfpb")
    schemes = ("none", "inverse")
    configs = [
        load_config(
            _REPO / "configs/cfpb-tfidf.yaml",
            [
                f"objective.class_weights={weights}",
                f"runs_dir={runs / weights}",
                f"data.path=[{_DATA}/cfpb/bdm_complaints_sample_2015-2020.csv, "
                f"{_DATA}/cfpb/payday_personal_loan_narratives_2023.csv]",
            ],
        )
        for weights in schemes
    ]
    paths = train_side_by_side(configs)
    return {w: read_run(p).metrics["val"] for w, p in zip(schemes, paths, strict=True)}


def test_split_is_the_documented_one(cfpb_runs):
    # 4,359 narratives, 12 singleton classes dropped (min_class_size 2), 20% stratified val
    assert cfpb_runs["none"]["n_examples"] == 869
    assert cfpb_runs["none"]["n_classes"] == 59


def test_class_weights_raise_macro_f1_and_rescue_zero_f1_classes(cfpb_runs):
    plain, weighted = cfpb_runs["none"], cfpb_runs["inverse"]
    # Measured 0.281 (weighted) vs 0.189 (plain) on this split; the target is 0.28.
    assert weighted["macro_f1"] >= 0.27
    assert weighted["macro_f1"] - plain["macro_f1"] >= 0.06
    # The trade-off's other face: the unweighted run leaves a larger share of classes at F1 = 0.
    assert plain["zero_f1"] / plain["n_classes"] > weighted["zero_f1"] / weighted["n_classes"]
    assert plain["zero_f1"] >= weighted["zero_f1"] + 6  # measured 33 vs 23 of 59

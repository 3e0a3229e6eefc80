"""Nested stratified fractions; every fraction run shares one validation file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tailtune.advise.fractions import classwise_halves, plan_fractions
from tailtune.data import nested_fractions

pytestmark = pytest.mark.unit


def test_fractions_are_nested_stratified_and_keep_every_class():
    labels = np.array(["a"] * 40 + ["b"] * 8 + ["c"] * 1)
    parts = nested_fractions(labels, (0.25, 0.5, 1.0), seed=3)
    assert set(parts[0.25]) <= set(parts[0.5]) <= set(parts[1.0])
    assert len(parts[1.0]) == len(labels)
    counts = {f: pd.Series(labels[idx]).value_counts().to_dict() for f, idx in parts.items()}
    assert counts[0.25] == {"a": 10, "b": 2, "c": 1}
    assert counts[0.5] == {"a": 20, "b": 4, "c": 1}
    assert not np.array_equal(parts[0.25], nested_fractions(labels, (0.25,), seed=4)[0.25])


def test_plan_fractions_fixes_validation(tmp_path):
    from tailtune.config import config_from_dict

    cfg = config_from_dict({"data": {"synthetic": "tiny"}, "model": {"backend": "tfidf"},
                            "split": {"val": 0.2}, "runs_dir": str(tmp_path / "runs")})  # fmt: skip
    train, val, runs = plan_fractions(cfg, tmp_path / "adv", (0.5, 1.0), (1, 2))
    assert len(runs) == 4 and len({r.run_id for r in runs}) == 4
    vals = {r.config["data"]["val_path"] for r in runs}
    assert len(vals) == 1
    back = pd.read_parquet(vals.pop())
    assert back["label"].tolist() == val["label"].tolist()
    full = [r for r in runs if r.fraction == 1.0]
    assert all(len(pd.read_parquet(r.train_file)) == len(train) for r in full)
    half = pd.read_parquet(next(r.train_file for r in runs if r.fraction == 0.5))
    assert len(half) < len(train) and set(half["label"]) == set(train["label"])


def test_classwise_design_reduces_complementary_halves():
    halves = classwise_halves(6, [1, 2, 3])
    assert halves[1].sum() == 3 and (halves[1] ^ halves[2]).all()  # every class reduced once
    labels = np.array(["a"] * 20 + ["b"] * 20)
    parts = nested_fractions(labels, (0.5, 1.0), seed=0, reduced=[True, False])
    counts = pd.Series(labels[parts[0.5]]).value_counts().to_dict()
    assert counts == {"a": 10, "b": 20}


def test_fraction_runs_keep_the_hierarchy(tmp_path):
    from tailtune.config import config_from_dict
    from tailtune.runs import read_run
    from tailtune.workflow import train

    lines = ["text,Product,Issue"]
    for (product, issue), word in {("bank", "fee"): "overdraft", ("bank", "fraud"): "stolen",
                                   ("card", "fee"): "annual"}.items():  # fmt: skip
        lines += [f"my {product} {word} {i},{product},{issue}" for i in range(12)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    cfg = config_from_dict({
        "data": {"path": str(tmp_path / "d.csv"), "label_columns": ["Product", "Issue"],
                 "hierarchy": True},
        "split": {"val": 0.25}, "runs_dir": str(tmp_path / "runs"),
    })  # fmt: skip
    _, _, runs = plan_fractions(cfg, tmp_path / "adv", (0.5,), (1,))
    data = runs[0].config["data"]
    assert data["hierarchy"] is True and data["level_names"] == ["Product", "Issue"]
    run = read_run(train(config_from_dict(runs[0].config)))
    assert list(run.metrics["val"]["hierarchy"]["levels"]) == ["Product", "Issue"]
    assert run.labels["hierarchy"]["leaves"] == ["bank | fee", "bank | fraud", "card | fee"]

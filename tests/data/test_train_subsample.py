"""data.train_subsample / data.train_fraction: the training split shrinks, validation does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tailtune.config import config_from_dict
from tailtune.data import train_subsample
from tailtune.errors import ConfigError
from tailtune.workflow.prepare import prepare_data


def _frame(sizes):
    labels = [f"c{k}" for k, n in enumerate(sizes) for _ in range(n)]
    return pd.DataFrame({"text": [f"t{i}" for i in range(len(labels))], "label": labels})


def test_nested_stratified_every_class_kept():
    train = _frame([200, 40, 3, 1])
    quarter, q = train_subsample(train, fraction=0.25, seed=7)
    half, h = train_subsample(train, fraction=0.5, seed=7)
    assert set(quarter["text"]) <= set(half["text"])  # nested for one seed
    assert sorted(quarter["label"].unique()) == ["c0", "c1", "c2", "c3"]
    assert quarter["label"].value_counts().to_dict() == {"c0": 50, "c1": 10, "c2": 1, "c3": 1}
    assert q == {"rows_before": 244, "rows_after": 62, "fraction": 0.25}
    assert h["rows_after"] == len(half) == 100 + 20 + 2 + 1


def test_rows_become_a_fraction_and_all_rows_is_identity():
    train = _frame([100, 100])
    kept, rep = train_subsample(train, rows=50, seed=0)
    assert len(kept) == 50 and rep["fraction"] == 0.25
    whole, rep = train_subsample(train, rows=1000, seed=0)
    assert len(whole) == 200 and rep["fraction"] == 1.0


def _cfg(tmp_path, **data):
    return config_from_dict(
        {"seed": 3, "data": {"synthetic": "tiny", **data}, "runs_dir": str(tmp_path)}
    )


def test_validation_split_is_the_same_at_every_point(tmp_path):
    full = prepare_data(_cfg(tmp_path))
    part = prepare_data(_cfg(tmp_path, train_fraction=0.3))
    rows = prepare_data(_cfg(tmp_path, train_subsample=40))
    for p in (part, rows):
        assert p.val["text"].tolist() == full.val["text"].tolist()
        assert set(p.train["text"]) <= set(full.train["text"])
        assert p.train["label"].nunique() == full.train["label"].nunique()
    assert len(part.train) < len(full.train)
    assert part.reports["train_subsample"]["rows_after"] == len(part.train)
    # a smaller fraction is inside a larger one (same seed): neighbouring points are nested
    smaller = prepare_data(_cfg(tmp_path, train_fraction=0.15))
    assert set(smaller.train["text"]) <= set(part.train["text"])
    assert np.isclose(part.reports["train_subsample"]["fraction"], 0.3)


@pytest.mark.parametrize(
    "data, match",
    [
        (
            {"train_fraction": 0},
            r"data.train_fraction: got 0(\.0)?, expected a fraction in \(0, 1\]",
        ),
        ({"train_fraction": 1.5}, r"data.train_fraction: got 1.5"),
        ({"train_subsample": 0}, r"data.train_subsample: got 0, expected a positive"),
        ({"train_subsample": 10, "train_fraction": 0.5}, r"give one of them, not both"),
    ],
)
def test_bad_values_are_one_line(tmp_path, data, match):
    with pytest.raises(ConfigError, match=match):
        _cfg(tmp_path, **data)

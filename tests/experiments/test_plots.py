"""Grids become heatmaps, data-size experiments data-scaling curves; tables carry the numbers."""

from __future__ import annotations

import pytest
from conftest import TRAINER

from tailtune.experiments import curve_table, grid_table, run_experiment

pytestmark = pytest.mark.integration


def test_grid_heatmap_and_table(write_exp):
    grid = {"train.batch_size": [32, 4], "train.weight_decay": [0.0, 0.1, 0.2]}
    res = run_experiment(write_exp("grid", vary=None, grid=grid, seeds=[1, 2]), trainer=TRAINER)
    table = grid_table(res.record, "macro_f1")
    assert list(table.columns) == ["train.batch_size", "train.weight_decay", "mean", "std", "n"]
    assert len(table) == 6 and set(table["n"]) == {2}
    # weight decay does nothing in the fake trainer: each row of the grid is constant
    for _, row in table.groupby("train.batch_size"):
        assert row["mean"].nunique() == 1
    big = table[table["train.batch_size"] == "4"]["mean"].iloc[0]
    small = table[table["train.batch_size"] == "32"]["mean"].iloc[0]
    assert big > small + 0.2
    assert (res.dir / "heatmap_macro_f1.png").stat().st_size > 5000
    assert (res.dir / "heatmap_accuracy.png").is_file()
    assert "grid maps a surface" in res.record["meaningful"]["summary"]


def test_three_field_grid_draws_one_panel_per_first_field(write_exp):
    grid = {"train.lr": [1e-5, 2e-5], "train.batch_size": [32, 4], "train.weight_decay": [0.0, 0.1]}
    res = run_experiment(write_exp("grid3", vary=None, grid=grid, seeds=[1]), trainer=TRAINER)
    assert len(grid_table(res.record)) == 8
    assert (res.dir / "heatmap_macro_f1.png").stat().st_size > 5000


def test_data_scaling_curve_uses_training_size_and_tokens(write_exp):
    res = run_experiment(
        write_exp("scale", vary={"data.subsample": [100, 400, 1600]}, seeds=[1, 2]), trainer=TRAINER
    )
    table = curve_table(res.record)
    assert list(table["train_size"]) == [100, 400, 1600]
    assert list(table["tokens"]) == [2000, 8000, 32000]  # fake trainer: 20 tokens per example
    assert list(table["tokens_per_param"]) == [2.0, 8.0, 32.0]  # 1000 trainable params
    assert (res.dir / "data_scaling.png").stat().st_size > 5000

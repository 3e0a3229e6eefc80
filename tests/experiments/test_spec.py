"""Experiment files: one varied field, a required prediction, declared grids, one-line errors."""

from __future__ import annotations

import pytest

from tailtune.config import config_to_dict
from tailtune.errors import ConfigError
from tailtune.experiments import load_experiment, plan_runs
from tailtune.experiments.record import held_constant
from tailtune.runs.index import run_config_hash

pytestmark = pytest.mark.unit


def test_valid_file_defaults_and_plan(write_exp):
    exp = load_experiment(write_exp(seeds=None))
    assert exp.seeds == [1, 2, 3] and exp.executor == "sequential" and exp.name == "bs"
    runs = plan_runs(exp)
    assert [(r.values["train.batch_size"], r.seed) for r in runs] == [
        (32, 1), (32, 2), (32, 3), (4, 1), (4, 2), (4, 3),
    ]  # fmt: skip
    assert len({r.run_id for r in runs}) == 6
    assert all(r.run_id == run_config_hash(config_to_dict(r.config)) for r in runs)
    assert runs[3].config.train.batch_size == 4 and runs[3].config.seed == 1
    held = held_constant(runs)
    assert "train.batch_size" not in held and "seed" not in held and "runs_dir" not in held
    assert held["train.lr"] == 2e-5 and held["model.backend"] == "tfidf"
    assert held["data.synthetic"] == "tiny"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prediction": None}, "prediction is required"),
        ({"prediction": "  "}, "prediction is required"),
        ({"vary": {"train.batch_size": [32, 4], "train.lr": [1e-5, 1e-4]}},
         "changes 2 fields (train.batch_size, train.lr); a controlled experiment changes exactly one"),
        ({"vary": {"train.batch_sise": [32, 4]}}, "did you mean 'batch_size'"),
        ({"vary": {"train.batch_size": [32, 0]}}, "train.batch_size: got 0, expected at least 1"),
        ({"vary": {"train.batch_size": [32]}}, "at least two values"),
        ({"vary": {"seed": [1, 2]}}, "use seeds: for seeds"),
        ({"vary": None}, "vary is required"),
        ({"grid": {"train.lr": [1e-5]}}, "not both"),
        ({"executor": "slurm"}, "executor: got 'slurm'"),
        ({"seeds": []}, "non-empty list of integers"),
        ({"sedes": [1]}, "unknown experiment field 'sedes'"),
        ({"base": "missing.yaml"}, "base: config file 'missing.yaml' not found"),
    ],
)  # fmt: skip
def test_errors_are_one_line_naming_the_field(write_exp, fields, message):
    with pytest.raises(ConfigError) as info:
        load_experiment(write_exp(**fields))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_grid_and_base_file_relative_to_experiment(write_exp, tmp_path):
    (tmp_path / "base.yaml").write_text("data: {synthetic: tiny}\nmodel: {backend: majority}\n")
    grid = {"data.subset_labels": [2, 4], "data.subset_per_class": [10, 20, 30]}
    exp = load_experiment(write_exp(base="base.yaml", vary=None, grid=grid, seeds=[7]))
    assert exp.is_grid and exp.variable == "data.subset_labels × data.subset_per_class"
    runs = plan_runs(exp)
    assert [r.cell for r in runs][:4] == [("2", "10"), ("2", "20"), ("2", "30"), ("4", "10")]
    assert {r.config.model.backend for r in runs} == {"majority"}


def test_verdict_sentences_follow_the_numbers():
    from tailtune.experiments.record import mean_std, seed_spread_test, verdict

    a, b = mean_std([0.50, 0.52, 0.54]), mean_std([0.60, 0.61, 0.62])
    assert a["std"] == pytest.approx(0.02) and b["mean"] == pytest.approx(0.61)
    spread = seed_spread_test(a, b)
    assert spread["threshold"] == pytest.approx(0.04) and spread["passes"] is True
    ok = [{"diff": 0.09, "low": 0.02, "high": 0.15, "meaningful": True}] * 3
    assert verdict("macro_f1", spread, ok)[0] == "meaningful"
    mixed = ok[:2] + [{"diff": 0.05, "low": -0.01, "high": 0.11, "meaningful": False}]
    label, sentence = verdict("macro_f1", spread, mixed)
    assert label == "inconclusive" and "2/3 paired bootstrap intervals" in sentence
    label, sentence = verdict("macro_f1", spread, [{"seed": 1, "error": "different ids"}])
    assert label == "meaningful" and "do not share a validation set" in sentence
    close = seed_spread_test(a, mean_std([0.53, 0.55, 0.57]))  # Δ 0.03 <= 0.04
    assert verdict("macro_f1", close, [])[0] == "not meaningful"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sedes": [1]}, "unknown experiment field 'sedes'; did you mean 'seeds'?"),
        ({"workers": "two"}, "workers: got 'two', expected an integer"),
        ({"workers": 0}, "workers: got 0, expected a positive integer"),
        ({"metric": "macro-f1"}, "metric: got 'macro-f1', expected one of: macro_f1, accuracy"),
        ({"seeds": [1, 1]}, "seeds: got [1, 1], expected distinct integers"),
        ({"vary": [1, 2]}, "vary: got [1, 2], expected a mapping or null"),
        ({"base": 3}, "base: got 3, expected a string or a mapping or null"),
    ],
)  # fmt: skip
def test_experiment_fields_go_through_the_settings_engine(write_exp, fields, message):
    path = write_exp(**fields)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_experiment_and_base_files_are_read_by_the_config_reader(tmp_path, write_exp):
    listed = tmp_path / "list.yaml"
    listed.write_text("- base\n- vary\n")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping of experiment fields"):
        load_experiment(listed)
    (tmp_path / "broken.yaml").write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML at line 2"):
        load_experiment(write_exp(base="broken.yaml"))


def test_every_experiment_field_is_documented_and_seeds_may_be_one_number(write_exp):
    from tailtune._settings import yaml_fields
    from tailtune.config_docs import field_docs
    from tailtune.experiments import ExperimentFile

    docs = field_docs(ExperimentFile)
    assert [f.name for f in yaml_fields(ExperimentFile) if not docs.get(f.name)] == []
    assert load_experiment(write_exp(seeds=7)).seeds == [7]

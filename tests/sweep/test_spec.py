"""The sweep file: read by the settings engine, one error line per mistake."""

from __future__ import annotations

import pytest

from tailtune.errors import ConfigError
from tailtune.sweep import base_config, load_sweep

pytestmark = pytest.mark.unit


def _write(tmp_path, text: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_a_recipe_with_overrides_is_the_base_config(tmp_path):
    spec = load_sweep(
        _write(
            tmp_path,
            """
recipe: cpu-longtail
set: [data.synthetic=tiny, train.epochs=2]
params:
  - {field: model.tfidf.C, low: 0.05, high: 5.0, log: true}
  - {field: train.batch_size, low: 16, high: 128, integer: true, step: 16}
  - {field: objective.class_weights, choices: [none, sqrt_inverse]}
""",
        )
    )
    assert spec.name == "sweep" and spec.trials == 20 and spec.pruner == "median"
    cfg = base_config(spec)
    assert cfg.model.backend == "ensemble" and cfg.train.epochs == 2  # recipe, then --set
    assert [p.kind() for p in spec.params] == ["float", "int", "categorical"]


def test_a_base_config_is_read_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "base.yaml").write_text("data: {synthetic: tiny}\nmodel: {backend: tfidf}\n")
    spec = load_sweep(_write(tmp_path, "base: base.yaml\nparams: [{field: model.tfidf.C, choices: [1, 2]}]\n"))  # fmt: skip
    assert base_config(spec).model.backend == "tfidf"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trails: 3\nparams: [{field: train.lr, low: 0.1, high: 1}]", "unknown config field 'sweep.trails'; did you mean 'trials'?"),
        ("params: [{field: train.lr, low: 0.1}]", "sweep.params[0] (train.lr): give low and high, or choices"),
        ("params: [{field: train.lr, low: 0, high: 1, log: true}]", "log needs low > 0"),
        ("params: []", "sweep.params: expected at least one searched field"),
        ("recipe: cpu-longtail\nbase: x.yaml\nparams: [{field: train.lr, choices: [1]}]", "give base (a config file) or recipe, not both"),
        ("executor: threads\nparams: [{field: train.lr, choices: [1]}]", "sweep.executor: got 'threads', expected one of: sequential, processes, ray"),
        ("params: [{field: seed, choices: [1, 2]}]", "expected a dotted config field"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_naming_the_file_and_field(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_sweep(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message

"""AdviseSettings: every setting documented, each bad value one line naming the field."""

from __future__ import annotations

import pytest

from tailtune._settings import from_kwargs, yaml_fields
from tailtune.advise import AdviseSettings
from tailtune.config_docs import field_docs
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit


def test_every_setting_has_a_doc():
    docs = field_docs(AdviseSettings)
    assert [f.name for f in yaml_fields(AdviseSettings) if not docs.get(f.name)] == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": -1}, "advise.budget: got -1, expected a whole number >= 0"),
        ({"budget": 10.5}, "advise.budget: got 10.5, expected a whole number >= 0"),
        ({"target_f1": 1.0}, "advise.target_f1: got 1.0, expected a number in (0, 1)"),
        ({"fractions": [0.5, 0.5]}, "advise.fractions: got [0.5, 0.5], expected at least two"),
        ({"fractions": [0.0, 1.0]}, "advise.fractions: got [0.0, 1.0], expected at least two"),
        ({"seeds": [1, 1]}, "advise.seeds: got [1, 1], expected distinct integers"),
        ({"design": "random"}, "advise.design: got 'random', expected one of: stratified, classwise"),
        ({"executor": "slurm"}, "advise.executor: got 'slurm', expected one of: local, sequential"),
        ({"workers": 0}, "advise.workers: got 0, expected an integer >= 1"),
        ({"few": -1}, "advise.few: got -1, expected an integer >= 0"),
        ({"half_width": 0.0}, "advise.half_width: got 0.0, expected a number in (0, 1)"),
        ({"n_bot": 10}, "unknown config field 'advise.n_bot'; did you mean 'n_boot'?"),
    ],
)  # fmt: skip
def test_bad_settings_are_one_line_errors(kwargs, message):
    with pytest.raises(ConfigError) as info:
        from_kwargs(AdviseSettings, kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_the_command_reports_a_bad_option_in_one_line_before_any_work(tmp_path):
    import subprocess
    import sys

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {{synthetic: tiny}}\nruns_dir: {tmp_path / 'runs'}\n")
    res = subprocess.run(
        [sys.executable, "-m", "tailtune", "advise", str(cfg), "--fractions", "0.5"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stderr.strip() == (
        "error: advise.fractions: got [0.5], expected at least two distinct values in (0, 1], "
        "e.g. 0.25 0.5 0.75 1"
    )
    assert not (tmp_path / "runs").exists()

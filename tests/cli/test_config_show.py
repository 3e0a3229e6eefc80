"""`tailtune config show`: the resolved config as YAML that loads back, with docs and defaults."""

import pytest
import yaml
from typer.testing import CliRunner

from tailtune import cli
from tailtune.config import config_to_dict, load_config, recipe_path

pytestmark = pytest.mark.unit

runner = CliRunner()


def _show(*args):
    return runner.invoke(cli.app, ["config", "show", *args], env={"COLUMNS": "200"})


def test_defaults_with_overrides_load_back_as_the_same_config():
    res = _show("--set", "train.lr=3e-5", "--set", "objective.class_weights=sqrt_inverse")
    assert res.exit_code == 0, res.output
    assert res.output.startswith("# tailtune config show: the defaults, --set train.lr=3e-5")
    expected = load_config(None, ["train.lr=3e-5", "objective.class_weights=sqrt_inverse"])
    assert yaml.safe_load(res.output) == config_to_dict(expected)
    lines = res.output.splitlines()
    lr = next(line for line in lines if line.startswith("  lr:"))
    assert lr.startswith("  lr: 3.0e-05") and lr.endswith("(default 2e-05)")
    weights = next(line for line in lines if line.startswith("  class_weights:"))
    assert weights.startswith("  class_weights: sqrt_inverse") and "(default none)" in weights
    keys = [line.split("#")[0].rstrip() for line in lines]
    assert "train:" in keys and "objective:" in keys  # sections as in a config file


def test_a_recipe_and_a_config_file(tmp_path):
    res = _show("--recipe", "cpu-longtail")
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(res.output) == config_to_dict(load_config(recipe_path("cpu-longtail")))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: mine\nmodel:\n  backend: majority\n")
    res = _show(str(cfg))
    assert res.exit_code == 0, res.output
    shown = yaml.safe_load(res.output)
    assert shown["name"] == "mine" and shown["model"]["backend"] == "majority"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--set", "train.lrr=1"], "train.lrr"),
        (["c.yaml", "--recipe", "cpu-longtail"], "not both"),
        (["--recipe", "nope"], "not a shipped recipe"),
    ],
)
def test_bad_input_is_one_error_line(monkeypatch, capsys, args, fragment):
    monkeypatch.setattr("sys.argv", ["tailtune", "config", "show", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and fragment in err
    assert len(err.strip().splitlines()) == 1

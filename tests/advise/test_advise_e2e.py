"""advise() end to end on synthetic data with the TF-IDF backend: files, a plausible plan, resume."""

from __future__ import annotations

import json

import pytest
import yaml

from tailtune.advise import AdviseSettings, advice_fragment, advise, print_advice

pytestmark = pytest.mark.integration

SETTINGS = AdviseSettings(budget=200, fractions=[0.25, 0.5, 1.0], seeds=[1, 2], n_boot=50)


@pytest.fixture(scope="module")
def advised(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("advise")
    cfg = {
        "name": "synth", "seed": 7,
        "data": {"synthetic": "small", "synthetic_scale": 0.5}, "split": {"val": 0.2},
        "model": {"backend": "tfidf"}, "eval": {"head_min": 500, "tail_max": 50},
        "runs_dir": str(tmp / "runs"),
    }  # fmt: skip
    path = tmp / "synth.yaml"
    path.write_text(yaml.safe_dump(cfg))
    lines: list[str] = []
    adv = advise(path, SETTINGS, log=lines.append)
    return adv, path, lines


def test_files_and_plan(advised):
    adv, _, lines = advised
    out = adv.out_dir
    assert {p.name for p in adv.files} == {"advice.json", "advice.md", "curves.png"}
    d = json.loads((out / "advice.json").read_text())
    assert "learning curves: 6 runs, 0 already finished, 6 to train (sequential)" in lines
    plan = d["plan"]
    assert 0 < plan["spent"] <= 200
    assert plan["predicted_gain"] > 0
    assert plan["low"] <= plan["predicted_gain"] <= plan["high"]
    by_label = {c["label"]: c for c in d["classes"]}
    for row in plan["allocations"]:  # own curves, or the tier's pooled one; gains add up
        assert by_label[row["label"]]["measurable"] == (row["curve"] != "tier prior")
        assert row["f1_after"] >= row["f1_now"]
    total = sum(r["gain"] for r in plan["allocations"]) / d["n_classes"]
    assert total == pytest.approx(plan["predicted_gain"], abs=1e-3)
    for c in d["classes"]:
        if c["support"] <= 5:
            assert c["diagnosis"] == "noise-limited" and c["validation_needed"] == 25 - c["support"]
    assert plan["predicted_gain"] >= d["alternatives"]["uniform"]["predicted_gain"]
    assert plan["predicted_gain"] >= d["alternatives"]["proportional"]["predicted_gain"]
    md = (out / "advice.md").read_text()
    assert "## Plan for 200 new examples" in md and "## Diagnosis per class" in md


def test_terminal_table_prints_labels_literally(advised, capsys):
    from rich.console import Console

    adv, _, _ = advised
    d = json.loads(json.dumps(adv.data))
    d["plan"]["allocations"][0]["label"] = "[bold]not markup[/bold]"
    print_advice(d, Console(width=200, force_terminal=False))
    assert "[bold]not markup[/bold]" in capsys.readouterr().out


def test_report_fragment(advised):
    adv, _, _ = advised
    html = advice_fragment(adv.out_dir)
    assert html.startswith("<section id='advice'>") and "data:image/png;base64," in html


def test_resume_trains_nothing(advised):
    adv, path, _ = advised
    lines: list[str] = []
    again = advise(path, SETTINGS, log=lines.append, write=False)
    assert "learning curves: 6 runs, 6 already finished, 0 to train (sequential)" in lines
    assert again.data["allocation"] == adv.data["allocation"]


def test_bad_arguments_are_one_line_errors(advised):
    from tailtune.errors import ConfigError, DataError

    _, path, _ = advised
    with pytest.raises(
        ConfigError, match=r"advise\.fractions: got \[0\.5\], expected at least two"
    ):
        advise(path, AdviseSettings(fractions=[0.5]))
    with pytest.raises(ConfigError, match="advise.executor: got 'cluster', expected one of"):
        advise(path, AdviseSettings(executor="cluster"))
    with pytest.raises(DataError, match="no such config file or run directory"):
        advise(path.parent / "missing.yaml")


def test_cli_command_resumes_and_prints_the_plan(advised):
    import typer
    from typer.testing import CliRunner

    from tailtune.cli.advise import app as advise_app

    adv, path, _ = advised
    root = typer.Typer()
    root.callback()(lambda: None)  # a group, so the command keeps its name
    root.add_typer(advise_app)
    args = ["advise", str(path), "--budget", "200", "--fractions", "0.25", "--fractions", "0.5",
            "--fractions", "1", "--seeds", "1", "--seeds", "2", "-o", str(adv.out_dir)]  # fmt: skip
    res = CliRunner().invoke(root, args)
    assert res.exit_code == 0, res.output
    assert "6 runs, 6 already finished, 0 to train" in res.output
    assert "Plan for 200 new examples" in res.output
    assert f"advice written to {adv.out_dir}" in res.output

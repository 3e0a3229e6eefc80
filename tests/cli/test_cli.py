"""The command line: bad input is one `error:` line and exit code 1, never a traceback."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _run(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tailtune", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, **env} if env else None,
    )


def _assert_one_line_error(res, *fragments):
    assert res.returncode == 1, res.stderr + res.stdout
    assert "Traceback" not in res.stderr + res.stdout
    err = res.stderr.strip()
    assert err.startswith("error:"), err
    for f in fragments:
        assert f in err, (f, err)


def test_missing_file(tmp_path):
    _assert_one_line_error(_run("data", "stats", str(tmp_path / "nope.csv")), "nope.csv")


def test_unknown_column_lists_columns(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("body,topic\nhello,a\nworld,b\n")
    _assert_one_line_error(
        _run("data", "stats", str(p), "--text-col", "txt", "--label-col", "topic"), "txt", "body"
    )


def test_config_typo(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  backnd: tfidf\n")
    _assert_one_line_error(_run("train", str(p)), "model.backnd", "backend")


def test_train_and_list_and_predict(tmp_path):
    runs = tmp_path / "runs"
    res = _run(
        "train",
        "--set",
        "data.synthetic=tiny",
        "--set",
        f"runs_dir={runs}",
        "--set",
        "eval.head_min=60",
        "--set",
        "eval.tail_max=20",
        "-q",
    )
    assert res.returncode == 0, res.stderr
    assert "macro F1" in res.stdout
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    res = _run("runs", "list", str(runs), "--json")
    assert res.returncode == 0 and run.name in res.stdout
    # at 80 columns the table keeps the columns that matter, whole numbers as integers
    res = _run("runs", "list", str(runs), env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    assert "macro_f1" in res.stdout and "config_hash" not in res.stdout
    assert "nan" not in res.stdout and "…" not in res.stdout
    res = _run("predict", str(run), "--text", "my card was charged twice")
    assert res.returncode == 0, res.stderr


def test_quickstart_shows_the_tradeoff(tmp_path):
    """The main job: sqrt-inverse weights raise macro F1 and rescue zero-F1 classes."""
    from tailtune.quickstart import run_quickstart

    results = run_quickstart(runs_dir=tmp_path / "qs", log=lambda *_: None)
    by = {r["label"]: r["metrics"]["val"] for r in results}
    assert by["majority"]["macro_f1"] < 0.05
    assert by["tfidf+sqrt-inv"]["macro_f1"] > by["tfidf"]["macro_f1"]
    assert by["tfidf+sqrt-inv"]["zero_f1"] <= by["tfidf"]["zero_f1"]


def test_stats_lists_removed_rows_with_their_lines(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,label\nhello,a\n,b\nworld,b\nagain,a\n")
    res = _run("data", "stats", str(p))
    assert res.returncode == 0, res.stderr
    assert "removed 1 rows with empty text" in res.stdout
    assert "d.csv:3" in res.stdout


def test_unknown_recipe_names_the_shipped_ones(tmp_path):
    _assert_one_line_error(
        _run("train", "--recipe", "cpu-longtial"), "cpu-longtail", "did you mean"
    )


def test_recipe_and_config_together_is_an_error(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: x\n")
    _assert_one_line_error(_run("train", str(cfg), "--recipe", "cpu-longtail"), "not both")


def test_stats_shows_the_tiers_a_run_would_use(tmp_path):
    """Auto thresholds by default (data-driven here: no class reaches 2,000); options fix them."""
    import json

    from typer.testing import CliRunner

    from tailtune.cli import app

    sizes = {"a": 500, "b": 300, "c": 120, "d": 50, "e": 20, "f": 10}
    p = tmp_path / "d.csv"
    p.write_text(
        "text,label\n" + "".join(f"t{k}{i},{k}\n" for k, n in sizes.items() for i in range(n))
    )
    runner = CliRunner()
    res = runner.invoke(app, ["data", "stats", str(p), "--json"], env={"COLUMNS": "10000"})
    assert res.exit_code == 0, res.output
    stats = json.loads(res.stdout)["stats"]
    assert stats["tiers_rule"].startswith("data-driven (head empty under head >= 2,000")
    assert stats["tiers"]["head"] == {"classes": 1, "rows": 500}
    res = runner.invoke(
        app, ["data", "stats", str(p), "--json", "--head-min", "300", "--tail-max", "50"]
    )
    stats = json.loads(res.stdout)["stats"]
    assert stats["tiers_rule"] == "fixed (head >= 300, tail < 50; set in eval)"
    assert {t: v["classes"] for t, v in stats["tiers"].items()} == {"head": 2, "mid": 2, "tail": 2}
    _assert_one_line_error(  # the default tail threshold, 100, is above 50
        _run("data", "stats", str(p), "--head-min", "50"),
        "eval.tail_max (100, the default) must not exceed eval.head_min (50)",
    )


def test_predict_set_follows_one_rule_with_text_and_input(tmp_path):
    runs = tmp_path / "runs"
    res = _run("train", "--set", "data.synthetic=tiny", "--set", f"runs_dir={runs}", "-q")
    assert res.returncode == 0, res.stderr
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    texts = tmp_path / "in.txt"
    texts.write_text("my card was charged twice\n")
    with_text = _run("predict", str(run), "--text", "hi", "--set", "train.num_threads=1")
    _assert_one_line_error(with_text, "--set 'train.num_threads=1'", "data.*")
    with_input = _run("predict", str(run), "--input", str(texts), "--set", "train.num_threads=1")
    _assert_one_line_error(with_input, "--set 'train.num_threads=1'", "data.*")

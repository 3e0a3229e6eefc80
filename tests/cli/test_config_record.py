"""A run's config.yaml records what its backend read; loading it back gives the same run."""

import json
import os
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.integration


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tailtune", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def _only_run(runs, but=()):
    (run,) = [p for p in runs.iterdir() if p.is_dir() and p.name[0] != "." and p not in but]
    return run


def test_a_tfidf_run_records_no_training_loop_and_trains_again_from_its_record(tmp_path):
    runs = tmp_path / "runs"
    sets = ["data.synthetic=tiny", f"runs_dir={runs}", "eval.head_min=60", "eval.tail_max=20",
            "objective.class_weights=inverse", "train.num_threads=1"]  # fmt: skip
    res = _run("train", *[a for s in sets for a in ("--set", s)], "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    first = _only_run(runs)
    text = (first / "config.yaml").read_text()
    recorded = yaml.safe_load(text)
    # the loop's fields are not read by tfidf: left out, and the comment says so
    assert "lr" not in recorded["train"] and "epochs" not in recorded["train"]
    assert "loss" not in recorded["objective"] and "lora" not in recorded["model"]
    comment = [line for line in text.splitlines() if line.startswith("#")]
    assert "the run's backend does not read them" in " ".join(comment)
    assert any(line.startswith("#   train: epochs,") for line in comment)
    assert any("model.lora" in line and "(whole sections)" in line for line in comment)
    # what the run read, and every value that differs from its default, stays
    assert recorded["objective"]["class_weights"] == "inverse"
    assert recorded["train"]["num_threads"] == 1  # ignored by tfidf, but set: kept
    assert recorded["model"]["tfidf"]["C"] == 0.5 and recorded["train"]["refit"] is None

    # the record trains again, to the same config (same hash in the index) and the same scores
    res = _run("train", first / "config.yaml", "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    second = _only_run(runs, but=(first,))
    assert (second / "config.yaml").read_text() == text
    listed = json.loads(_run("runs", "list", runs, "--json", cwd=tmp_path).stdout)
    hashes = {row["run_dir"]: row["config_hash"] for row in listed}
    assert hashes[first.name] == hashes[second.name]
    metrics = [json.loads((r / "metrics.json").read_text())["val"] for r in (first, second)]
    assert metrics[0]["macro_f1"] == metrics[1]["macro_f1"]

    res = _run("runs", "show", first.name, "--runs-dir", runs, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _run("runs", "compare", first.name, second.name, "--runs-dir", runs, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_the_record_hashes_as_the_whole_config():
    from tailtune.backends.build import unread_defaults
    from tailtune.config import config_from_dict, dump_config
    from tailtune.runs.index import run_config_hash

    for raw in ({"model": {"backend": "tfidf"}, "train": {"num_threads": 2}},
                {"model": {"backend": "majority"}},
                {"model": {"backend": "encoder", "name": "x"}, "train": {"lr": 1e-4}}):  # fmt: skip
        cfg = config_from_dict(raw)
        record = yaml.safe_load(dump_config(cfg, unread_defaults(cfg)))
        assert config_from_dict(record) == cfg
        assert run_config_hash(record) == run_config_hash(cfg)
        assert run_config_hash(record) != run_config_hash({**record, "seed": 7})

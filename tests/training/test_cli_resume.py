"""``tailtune train`` as a user runs it: SIGTERM exits 143, ``--resume NAME`` finishes the run.

The command is the real console entry point in a child process; the fault point
(``TAILTUNE_FAULT=term@step:6``) makes the process send itself SIGTERM after step 6, as a batch
scheduler would before taking the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tailtune.runs import read_run  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="signals"),
]


def tailtune(args: list[str], cwd: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TAILTUNE_FAULT", None)
    if fault:
        env["TAILTUNE_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "tailtune", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_sigterm_exits_143_and_train_resume_finishes(tiny_bert_dir, tmp_path):
    cfg = {
        "name": "faulty",
        "seed": 3,
        "runs_dir": "runs",
        "data": {"synthetic": "tiny"},
        "split": {"val": 0.15, "test": 0.1},
        "model": {"backend": "encoder", "name": tiny_bert_dir, "max_length": 32},
        "train": {"epochs": 1, "batch_size": 16, "eval_every": 3, "lr": 1e-3, "patience": None,
                  "num_threads": 1, "device": "cpu"},
    }  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")

    first = tailtune(["train", "c.yaml"], tmp_path, fault="term@step:6")
    assert first.returncode == 143, first.stdout + first.stderr
    (left,) = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".interrupted-")]

    refused = tailtune(["train", "c.yaml", "--resume", "faulty"], tmp_path)
    assert refused.returncode == 2 and "--resume" in refused.stderr

    done = tailtune(["train", "--resume", "faulty", "--runs-dir", "runs"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming from" in done.stdout and "step-000006" in done.stdout
    (finished,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and p.name[0] != "."]
    assert not left.exists()
    run = read_run(finished)
    assert run.history[-1]["step"] > 6 and run.config["name"] == "faulty"

    nothing = tailtune(["train", "--resume", "faulty", "--runs-dir", "runs"], tmp_path)
    assert nothing.returncode == 1
    assert len(nothing.stderr.strip().splitlines()) == 1, nothing.stderr


@pytest.mark.slow
def test_resume_with_a_changed_config_is_refused_safe_fields_recorded(tiny_bert_dir, tmp_path):
    cfg = {
        "name": "changed", "seed": 3, "runs_dir": "runs", "data": {"synthetic": "tiny"},
        "split": {"val": 0.15, "test": 0.1},
        "model": {"backend": "encoder", "name": tiny_bert_dir, "max_length": 32},
        "train": {"epochs": 1, "batch_size": 16, "eval_every": 3, "lr": 1e-3, "patience": None,
                  "num_threads": 1, "device": "cpu"},
    }  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    first = tailtune(["train", "c.yaml"], tmp_path, fault="term@step:6")
    assert first.returncode == 143, first.stdout + first.stderr

    resume = ["train", "c.yaml", "--set", "train.resume=true"]
    refused = tailtune([*resume, "--set", "train.lr=0.01", "--set", "train.epochs=3",
                        "--set", "train.num_threads=2"], tmp_path)  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert "train.epochs (1.0 → 3.0)" in line and "train.lr (0.001 → 0.01)" in line
    assert "train.num_threads (" not in line  # safe to change: not among the refused fields
    assert any((tmp_path / "runs").glob(".interrupted-changed-*"))  # the unfinished run stays

    done = tailtune([*resume, "--set", "train.num_threads=2", "--set", "train.time_budget=1h"],
                    tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming with train.num_threads changed: 1 → 2" in " ".join(done.stdout.split())
    (finished,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and p.name[0] != "."]
    run = read_run(finished)
    assert run.metrics["resume_changes"] == {
        "train.num_threads": {"was": 1, "now": 2},
        "train.time_budget": {"was": None, "now": "1h"},
    }
    assert run.config["train"]["num_threads"] == 2 and run.config["train"]["lr"] == 1e-3

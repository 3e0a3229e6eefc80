"""Visible choices: what a run chose on the validation rows is said, and so is the cost."""

import json
import os
import subprocess
import sys

import pytest

from tailtune.backends import make_backend
from tailtune.workflow.choices import validation_choices
from tests.training.tiny_models import toy_task

pytestmark = pytest.mark.integration


def test_tfidf_tau_and_temperature_are_said_with_their_rows(tmp_path):
    data = tmp_path / "d.csv"
    texts, labels = toy_task(400, 0)
    data.write_text(
        "text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels, strict=True))
    )
    runs = tmp_path / "runs"
    res = subprocess.run([sys.executable, "-m", "tailtune", "train", "--set", f"data.path={data}",
                          "--set", f"runs_dir={runs}", "--set", "objective.tune_posthoc_tau=true"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "COLUMNS": "300"})  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "post-hoc τ = " in out and "chosen on the 40 validation rows" in out
    assert "validation figures of this run are optimistic" in out
    (run,) = runs.glob("run-*")
    choices = json.loads((run / "metrics.json").read_text())["choices"]
    assert choices["on_validation"] is True
    assert choices["lines"][0].startswith("post-hoc τ = ")
    assert choices["lines"] == [x for x in (run / "log.txt").read_text().splitlines()
                                if x in choices["lines"]]  # fmt: skip


def test_without_choices_nothing_is_called_optimistic(tmp_path):
    backend = make_backend("tfidf", temperature=1.0)  # a given temperature, no τ tuned
    backend.info_ = {"temperature": 1.0}
    assert validation_choices(backend, 100) == {"lines": [], "on_validation": False}


def test_early_stopping_restoring_an_earlier_step_is_said():
    backend = make_backend("encoder", model_name="unused")  # __init__ only stores
    info = {"best_step": 40, "steps": 90, "early_stopping_metric": "macro_f1",
            "best_metric": 0.61234, "val_rows_unseen": 3, "posthoc_tau": 0.0}  # fmt: skip
    backend.info_ = info
    lines = validation_choices(backend, 50)["lines"]
    assert lines[0] == ("early stopping restored the weights of step 40 of 90: best validation "
                        "macro_f1 0.6123, chosen on the 47 validation rows")  # fmt: skip
    assert lines[-1].startswith("validation figures of this run are optimistic")

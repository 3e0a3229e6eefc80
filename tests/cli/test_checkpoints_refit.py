"""`evaluate --checkpoint all` on a refit run: the refit model trained on the validation rows,
so its validation row is marked in-sample and never called highest."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tailtune.config import config_from_dict  # noqa: E402
from tailtune.workflow import train  # noqa: E402
from tailtune.workflow.checkpoints import evaluate_checkpoints  # noqa: E402
from tests.training.tiny_models import save_tiny_model  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def refit_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("refit")
    model = save_tiny_model(root / "tiny-bert", "bert")
    cfg = {
        "name": "rf", "seed": 5, "runs_dir": str(root / "runs"),
        "data": {"synthetic": "tiny"}, "split": {"val": 0.2, "test": 0.15},
        "model": {"backend": "encoder", "name": str(model), "max_length": 24},
        "train": {"epochs": 2, "batch_size": 16, "eval_every": 4, "lr": 2e-3, "patience": None,
                  "num_threads": 1, "device": "cpu", "keep_checkpoints": 2, "refit": True},
    }  # fmt: skip
    return train(config_from_dict(cfg))


def test_refit_final_is_in_sample_on_validation_and_never_highest(refit_run, tmp_path):
    result = evaluate_checkpoints(refit_run, "all", split="val")
    rows = {r["checkpoint"]: r for r in result["rows"]}
    assert rows["final"]["phase"] == "refit" and rows["final"]["in_sample"] is True
    assert not any(r["in_sample"] for name, r in rows.items() if name != "final")
    assert result["highest"] != "final" and result["highest"] in rows
    # only the final row scored: nothing out of sample to rank
    alone = evaluate_checkpoints(refit_run, "final", split="val")
    assert alone["highest"] is None
    # on test nothing trained on the rows: final ranks like the others
    on_test = evaluate_checkpoints(refit_run, "all", split="test")
    assert not any(r["in_sample"] for r in on_test["rows"])

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "tailtune", "evaluate", str(refit_run),
                          "--checkpoint", "all", "--json"], env=env, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = subprocess.run([sys.executable, "-m", "tailtune", "evaluate", str(refit_run),
                            "--checkpoint", "all"], env={**env, "COLUMNS": "200"},
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    cells = [x.replace("│", " ").replace("┃", " ").split() for x in table.stdout.splitlines()]
    final_line = " ".join(next(c for c in cells if c[:1] == ["final"]))
    assert "in-sample" in final_line and "highest" not in final_line
    assert json.loads(res.stdout)["highest"] != "final"

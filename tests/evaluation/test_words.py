"""Words that match the figures, through the command line: the tail-error story names a
destination only when it clearly dominates, and "best" is the checkpoint early stopping kept."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.integration

COUNTS = {"H": 3000, "M": 500, "T1": 50, "T2": 50}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tailtune", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})  # fmt: skip


def test_errors_say_spread_for_a_near_uniform_spread(make_run):
    gold = np.array(["T1"] * 100 + ["H"] * 20)
    pred = np.array(["H"] * 30 + ["M"] * 37 + ["T2"] * 33 + ["H"] * 20)
    run = make_run("spread", gold=gold, pred=pred, train_counts=COUNTS)
    res = _cli("errors", str(run))
    assert res.returncode == 0, res.stderr
    out = " ".join(res.stdout.split())
    assert "head 30%, mid 37%, tail 33% → spread: no tier takes a clear majority" in out
    assert "pulled to mid-tier" not in out


def test_diagnose_says_which_best_it_means(make_run):
    rows = [{"step": 10 * (i + 1), "epoch": i + 1, "train_loss": t, "val_loss": v,
             "macro_f1": f} for i, (t, v, f) in enumerate(zip(
                 [1.2, 0.9, 0.6, 0.4, 0.3], [1.3, 1.0, 0.9, 0.95, 1.0],
                 [0.2, 0.4, 0.5, 0.55, 0.54], strict=True))]  # fmt: skip
    gold = np.array(["H", "M", "T1", "T2"] * 5)
    run = make_run("curve", gold=gold, pred=gold, train_counts=COUNTS, history=rows)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["info"] = {"best_step": 40, "early_stopping_metric": "macro_f1"}
    (run / "metrics.json").write_text(json.dumps(metrics))
    res = _cli("diagnose", str(run))
    assert res.returncode == 0, res.stderr
    out = " ".join(res.stdout.split())
    assert "(best = kept checkpoint: epoch 4; lowest validation loss: epoch 3)" in out
    assert "data-starved" in out and "lowest_val_loss 0.9" in out and "highest_macro_f1 0.55" in out
    assert "best_val_loss" not in out

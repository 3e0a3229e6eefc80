"""A stand-in for tailtune.workflow.train: writes a real run directory in milliseconds.

Predictions are a deterministic function of the config: example i is right when u_i < p, with
u drawn from the seed (so two configs with one seed share u: a paired comparison) and
p = 0.55, or 0.85 when train.batch_size == 4. ``train.weight_decay`` changes nothing.
Failures on demand: lr 0.5 raises, lr 0.25 or batch size 7 kills the process; FAKE_DIE_AT=k makes the k-th call
in this process tree (counted in FAKE_TRAINER_LOG) exit hard, as a killed experiment would;
FAKE_SLEEP_BATCH=b makes runs with that batch size sleep (their pid goes to FAKE_PID_DIR);
FAKE_SLEEP_S=s makes every run take s seconds inside its run writer (pid to FAKE_PID_DIR when set),
so a kill lands mid-run and leaves a temporary folder, as a real training would;
FAKE_DONE_LOG gets one line per run that finished.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tailtune.config import dump_config
from tailtune.evaluation import compute_metrics
from tailtune.runs import RunWriter

CLASSES = np.array(["a", "b", "c"])
GOLD = np.array(["a"] * 30 + ["b"] * 20 + ["c"] * 10)
TRAIN_COUNTS = {"a": 3000, "b": 500, "c": 50}  # head / mid / tail at 2000 / 100


def train(cfg, *, quiet=True, run_name=None, runs_dir=None, log=None) -> Path:
    """Write a finished run directory for ``cfg`` and return its path."""
    log_file = os.environ.get("FAKE_TRAINER_LOG")
    if log_file:
        with open(log_file, "a") as fh:
            fh.write(f"{run_name}\n")
        n = len(Path(log_file).read_text().splitlines())
        if os.environ.get("FAKE_DIE_AT") and n >= int(os.environ["FAKE_DIE_AT"]):
            os._exit(9)
    if os.environ.get("FAKE_SLEEP_BATCH") == str(cfg.train.batch_size):
        Path(os.environ["FAKE_PID_DIR"], str(os.getpid())).touch()
        time.sleep(120)  # a long run, to be interrupted
    if cfg.train.lr == 0.5:
        raise RuntimeError("loss is nan at step 3")
    if cfg.train.lr == 0.25 or cfg.train.batch_size == 7:
        os._exit(7)
    u = np.random.default_rng(cfg.seed).random(len(GOLD))
    p = 0.85 if cfg.train.batch_size == 4 else 0.55
    wrong = CLASSES[(np.searchsorted(CLASSES, GOLD) + 1) % 3]
    pred = np.where(u < p, GOLD, wrong)
    metrics = compute_metrics(GOLD, pred, train_counts=TRAIN_COUNTS, head_min=2000, tail_max=100)
    train_size = cfg.data.subsample or 3550
    with RunWriter(runs_dir or cfg.runs_dir, run_name or cfg.name) as w:
        if os.environ.get("FAKE_SLEEP_S"):
            if os.environ.get("FAKE_PID_DIR"):
                Path(os.environ["FAKE_PID_DIR"], str(os.getpid())).write_text(run_name or "")
            w.write_text("log.txt", "training\n")
            time.sleep(float(os.environ["FAKE_SLEEP_S"]))
        w.write_text("config.yaml", dump_config(cfg))
        w.write_json("metrics.json", {
            "val": metrics, "train_size": train_size, "backend": "fake",
            "timing": {"fit_s": 0.01, "predict_s": 0.0, "total_s": 0.01},
            "info": {"trainable_params": 1000, "tokens_seen": 20 * train_size},
        })  # fmt: skip
        ids = [f"v{i}" for i in range(len(GOLD))]
        w.write_csv("predictions.csv", pd.DataFrame({
            "split": "val", "id": ids, "text": ids, "gold": GOLD, "pred": pred, "prob": 0.9,
            "top_k": json.dumps([]),
        }))  # fmt: skip
    if os.environ.get("FAKE_DONE_LOG"):  # one line per run that reached its finished folder
        with open(os.environ["FAKE_DONE_LOG"], "a") as fh:
            fh.write(f"{run_name}\n")
    return w.final_path

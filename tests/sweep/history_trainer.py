"""A stand-in for tailtune.workflow.train that evaluates like a neural run, in tenths of a second.

It writes one history line per evaluation into its run folder while it "trains", stops at the
next evaluation when a STOP file appears there (as the training loop does), and writes a run
whose validation figure is its best evaluation (the best checkpoint). The curve rises to a
ceiling set by ``train.lr``, highest at lr = 0.01: q(lr) = 1 - |log10(lr) + 2| / 2.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd

from tailtune.config import dump_config
from tailtune.runs import RunWriter, layout

EVALS = 5
PAUSE_S = 0.15


def ceiling(lr: float) -> float:
    """The curve's last value for a learning rate."""
    return max(0.05, 1.0 - abs(math.log10(lr) + 2.0) / 2.0)


def train(cfg, *, quiet=True, runs_dir=None, dir_name=None, run_name=None, log=None):
    """Write a finished run directory after up to EVALS evaluations; return its path."""
    top = ceiling(cfg.train.lr)
    history = []
    stop_reason = "epochs"
    with RunWriter(runs_dir or cfg.runs_dir, dir_name or run_name or cfg.name) as w:
        w.write_text(layout.CONFIG, dump_config(cfg))
        for k in range(1, EVALS + 1):
            time.sleep(PAUSE_S)
            history.append({"step": 10 * k, "epoch": float(k), "macro_f1": top * k / EVALS})
            with open(w.tmp / layout.HISTORY, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(history[-1]) + "\n")
            if (w.tmp / layout.STOP_REQUEST).exists():
                stop_reason = "stop_requested"
                break
        best = max(r["macro_f1"] for r in history)
        w.write_json(layout.METRICS, {
            "val": {"macro_f1": best, "accuracy": best, "n_examples": 2},
            "backend": "fake", "train_size": 10,
            "info": {"stop_reason": stop_reason, "best_step": history[-1]["step"]},
            "timing": {"fit_s": PAUSE_S * len(history)},
        })  # fmt: skip
        gold = np.array(["a", "b"])
        w.write_csv(layout.PREDICTIONS, pd.DataFrame({
            "split": "val", "id": ["v0", "v1"], "text": ["x", "y"], "gold": gold, "pred": gold,
            "prob": 0.9, "top_k": "[]",
        }))  # fmt: skip
    return w.final_path

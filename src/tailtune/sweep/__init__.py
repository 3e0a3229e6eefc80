"""Hyperparameter search: an Optuna study over any config fields, each trial a tailtune run.

``tailtune sweep SPEC.yaml`` (:func:`run_sweep`): TPE sampling, median pruning on the
validation metric the trials report at each evaluation, each trial scored on its best
checkpoint's validation metric, the study in SQLite so a killed sweep resumes, trials trained
by the experiment executors (this process, worker processes, Ray) and listed by ``runs list``,
the best config written out, and a confirmation on fresh seeds (docs/sweeps.md).
"""

from __future__ import annotations

from tailtune.sweep.run import SweepResult, run_sweep, sweep_dir
from tailtune.sweep.spec import Param, SweepSpec, base_config, load_sweep

__all__ = [
    "Param",
    "SweepResult",
    "SweepSpec",
    "base_config",
    "load_sweep",
    "run_sweep",
    "sweep_dir",
]

"""Controlled experiments: one varied field, seeds, a prediction written before running, a
five-field record with a verdict on the prediction; declared grids as heatmaps, scaling curves,
and executors (sequential, local processes, Ray)."""

from tailtune.experiments.curves import curve_table, plot_curves
from tailtune.experiments.executors import DEFAULT_TRAINER, execute_job, ray_resources, run_jobs
from tailtune.experiments.grid import grid_table, plot_grid, plot_heatmap
from tailtune.experiments.plan import PlannedRun, experiment_dir, finished_runs, plan_runs
from tailtune.experiments.record import build_record, render_markdown, write_record
from tailtune.experiments.runner import ExperimentResult, run_experiment, show_experiment
from tailtune.experiments.spec import (
    Experiment,
    ExperimentFile,
    experiment_from_dict,
    load_experiment,
)

__all__ = [
    "DEFAULT_TRAINER",
    "Experiment",
    "ExperimentFile",
    "ExperimentResult",
    "PlannedRun",
    "build_record",
    "curve_table",
    "execute_job",
    "experiment_dir",
    "experiment_from_dict",
    "finished_runs",
    "grid_table",
    "load_experiment",
    "plan_runs",
    "plot_curves",
    "plot_grid",
    "plot_heatmap",
    "ray_resources",
    "render_markdown",
    "run_experiment",
    "run_jobs",
    "show_experiment",
    "write_record",
]

"""``tailtune experiment``: controlled one-variable experiments, seeds and grids."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import command
from tailtune.cli._print import console
from tailtune.errors import TailtuneError

app = typer.Typer(help="Controlled experiments, seeds and grids.", no_args_is_help=True)


@command(app, "run", "Run or resume an experiment (finished runs are skipped).")
def experiment_run(
    file: Annotated[Path, typer.Argument(help="Experiment YAML (one varied field, or a grid).")],
    executor: Annotated[str | None, typer.Option(help="sequential, processes or ray.")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel runs (processes executor).")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Existing Ray cluster address.")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Override the runs folder.")] = None,
) -> None:
    """Run or resume an experiment; finished runs are skipped, failed ones retried.

    Examples:
    tailtune experiment run configs/experiments/tiny-tfidf-c.yaml
    tailtune experiment run my-grid.yaml --executor processes --workers 2
    """
    from tailtune.cli._options import check_choice, check_int
    from tailtune.experiments import run_experiment
    from tailtune.experiments.executors import EXECUTORS

    check_choice("--executor", executor, EXECUTORS)
    check_int("--workers", workers, 1)
    result = run_experiment(
        file, executor=executor, workers=workers, ray_address=ray_address, runs_dir=runs_dir,
        log=console.print,
    )  # fmt: skip
    record = result.dir / "record.md"
    if record.is_file():
        console.print(record.read_text(encoding="utf-8"))
    busy = f", {len(result.busy)} in progress elsewhere" if result.busy else ""
    console.print(
        f"{len(result.executed)} run(s) trained, {len(result.skipped)} already finished, "
        f"{len(result.failed)} failed{busy}, {result.wall_s:.0f} s; results in {result.dir}"
    )
    if result.failed:
        raise TailtuneError(f"{len(result.failed)} run(s) failed; re-run the command to retry them")


@command(app, "show", "Print an experiment's record.")
def experiment_show(exp_dir: Annotated[Path, typer.Argument(help="Experiment folder.")]) -> None:
    """Print an experiment's record (variable, held constant, prediction, result, meaningful).

    Examples:
    tailtune experiment show runs/tiny-tfidf-c
    """
    from tailtune.experiments import show_experiment

    console.print(show_experiment(exp_dir)["markdown"])

"""``tailtune sweep`` and ``tailtune track``: a team's stack (Optuna studies, MLflow / W&B)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import SetOpt, command
from tailtune.cli._print import console

__all__ = ["app"]

app = typer.Typer()


@command(app, "sweep", "Search config fields with a resumable Optuna study.")
def sweep_cmd(
    spec: Annotated[Path, typer.Argument(help="Sweep YAML: base config, params, trials.")],
    trials: Annotated[
        int | None, typer.Option(help="Trials to finish (overrides the file).")
    ] = None,
    confirm: Annotated[
        int | None, typer.Option(help="Train the best config on N fresh seeds afterwards.")
    ] = None,
    executor: Annotated[str | None, typer.Option(help="sequential, processes or ray.")] = None,
    workers: Annotated[int | None, typer.Option(help="Trials trained at once.")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Override the runs folder.")] = None,
    set_: SetOpt = None,
) -> None:
    """Run an Optuna study over config fields; started again under the same name, it resumes.

    Each trial is a tailtune run scored on its best checkpoint's validation metric. The best
    trial's figure is optimistic (chosen on the same validation data): --confirm N measures the
    best config on N fresh seeds.

    Examples:
    tailtune sweep configs/sweeps/tiny-tfidf.yaml
    tailtune sweep sweep.yaml --trials 40 --executor processes --workers 2
    tailtune sweep sweep.yaml --confirm 3
    tailtune sweep configs/sweeps/cpu-longtail-banking77.yaml --set data.subsample=3000
    """
    from tailtune.sweep import load_sweep, run_sweep

    given = {"trials": trials, "confirm": confirm, "executor": executor, "workers": workers,
             "runs_dir": str(runs_dir) if runs_dir else None}  # fmt: skip
    loaded = load_sweep(spec, given)
    if set_:  # after the file's own overrides: the command line wins
        loaded = dataclasses.replace(loaded, set=[*loaded.set, *set_])
    result = run_sweep(loaded, log=lambda line: console.print(line, soft_wrap=True))
    console.print(f"{result.trained} trial(s) trained in {result.wall_s:.0f} s; record in "
                  f"{result.dir / 'sweep.json'}", soft_wrap=True)  # fmt: skip


@command(app, "track", "Report finished runs to MLflow or W&B.")
def track_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Finished run directories.")],
    to: Annotated[list[str] | None, typer.Option("--to", help="mlflow or wandb (repeat).")] = None,
    uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
    experiment: Annotated[
        str | None, typer.Option(help="MLflow experiment / W&B project (default: run name).")
    ] = None,
    log_model: Annotated[bool, typer.Option(help="Upload the model folder too.")] = False,
) -> None:
    """Report finished runs as train.report_to would have (params, history, final metrics with
    intervals, artifacts); a tracker that fails is one warning line and exit code 1.

    Examples:
    tailtune track runs/atis-tfidf-20261201-101500
    tailtune track runs/atis-* --to mlflow --uri http://127.0.0.1:5000
    """
    from tailtune.errors import TailtuneError
    from tailtune.runs import read_run
    from tailtune.tracking import TRACKERS, report_run

    targets = to or ["mlflow"]
    for name in targets:
        if name not in TRACKERS:
            raise TailtuneError(f"--to: got {name!r}, expected one of: {', '.join(TRACKERS)}")
    failed = 0
    for run in runs:
        read_run(run)  # a folder that is not a finished run is one error line
        done = report_run(run, targets, tracking_uri=uri, experiment=experiment,
                          log_model=log_model, say=lambda line: console.print(line, soft_wrap=True))  # fmt: skip
        failed += len(targets) - len(done)
    if failed:
        raise TailtuneError(f"{failed} report(s) failed (see the warnings above)")

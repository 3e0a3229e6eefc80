"""Report finished runs to the trackers a team already uses: MLflow, Weights & Biases.

``train.report_to: [mlflow]`` (or ``wandb``) reports each run once it is written: the resolved
config as params, the history as per-step metrics, the final metrics with tiers and 95%
bootstrap intervals, the tables and the HTML report as artifacts, tags that lead back to the run
directory. A tracker that cannot be reached costs one warning; the run itself is never at risk
(it is finished before anything is sent). ``tailtune track RUN`` reports a run later.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from tailtune.tracking.summary import RunSummary, run_summary

__all__ = ["TRACKERS", "TrackingWarning", "RunSummary", "report_run", "run_summary"]

TRACKERS = ("mlflow", "wandb")


class TrackingWarning(UserWarning):
    """A run could not be reported to a tracker (the run itself is kept)."""


def report_run(
    run_dir: str | Path,
    report_to: list[str],
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    log_model: bool = False,
    runs_dir: str | Path | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Report a finished run to each tracker in ``report_to``; returns ``{tracker: where}``.

    ``experiment`` names the MLflow experiment / W&B project (default: the run's name);
    ``runs_dir`` (default: the run's parent folder) holds the local MLflow store when no URI is
    given. A tracker that fails is one :class:`TrackingWarning` (and one ``warning:`` line to
    ``say``), never an exception.
    """
    say = say or (lambda line: None)
    run_dir = Path(run_dir)
    root = Path(runs_dir) if runs_dir is not None else run_dir.parent
    done: dict[str, str] = {}
    summary = None
    for tracker in report_to:
        target = tracker
        try:
            summary = summary or run_summary(run_dir, with_model=log_model)
            name = experiment or summary.name
            if tracker == "mlflow":
                from tailtune.tracking._mlflow import log_mlflow, mlflow_uri

                uri, artifacts = mlflow_uri(tracking_uri, root)
                target = f"mlflow at {uri}"
                done[tracker] = log_mlflow(
                    summary, uri=uri, experiment=name, artifact_location=artifacts
                )
            elif tracker == "wandb":
                from tailtune.tracking._wandb import log_wandb

                done[tracker] = log_wandb(summary, project=name, runs_dir=root)
            else:
                raise ValueError(f"unknown tracker {tracker!r}; expected one of {TRACKERS}")
            say(f"reported to {tracker}: {done[tracker]}")
        except Exception as exc:  # noqa: BLE001 - a tracker never costs the run
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            uri = f" --uri {tracking_uri}" if tracker == "mlflow" and tracking_uri else ""
            line = (
                f"train.report_to: the run was not reported to {target} "
                f"({type(exc).__name__}: {first}); it is kept in {run_dir}, report it later "
                f"with: tailtune track {run_dir} --to {tracker}{uri}"
            )
            warnings.warn(line, TrackingWarning, stacklevel=2)
            say(f"warning: {line}")
    return done

"""Log a :class:`~tailtune.tracking.summary.RunSummary` to MLflow, through ``MlflowClient``.

The client API (not the fluent ``mlflow.start_run``) keeps no global state, so several runs in
one process (an experiment, a sweep) never mix. Params, metrics and tags go in ``log_batch``
calls (at most 100 params / 1000 metrics each, MLflow's limits); files are artifacts.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from tailtune.tracking.summary import RunSummary

__all__ = ["log_mlflow", "mlflow_uri", "short_timeouts"]

LOCAL_DB = "mlflow.db"
LOCAL_ARTIFACTS = "mlartifacts"
_PARAM_MAX = 6000  # characters MLflow keeps of a param value
# A dead server should cost seconds, not MLflow's defaults (7 retries with backoff, 120 s each).
_TIMEOUTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    # the client would print its own "View run" line; report_run says where the run went
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


def mlflow_uri(uri: str | None, runs_dir: str | Path) -> tuple[str, str | None]:
    """The tracking URI to use and, for the local default, where artifacts go.

    ``uri`` as given, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///<runs_dir>/mlflow.db`` with
    artifacts in ``<runs_dir>/mlartifacts`` (MLflow 3 refuses a bare ``./mlruns`` file store).
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if chosen:
        return chosen, None
    root = Path(runs_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / LOCAL_DB}", (root / LOCAL_ARTIFACTS).as_uri()


@contextlib.contextmanager
def short_timeouts():
    """MLflow's HTTP retry and timeout variables set low (and its URL printing off) for the
    block, unless the user set them (their values win); restored afterwards."""
    old = {k: os.environ.get(k) for k in _TIMEOUTS}
    for key, value in _TIMEOUTS.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)


def log_mlflow(
    summary: RunSummary, *, uri: str, experiment: str, artifact_location: str | None = None
) -> str:
    """Create one MLflow run for ``summary`` under ``experiment``; return where it is: the
    run's page for a tracking server, else the store and the run id."""
    from tailtune._extras import require

    require("mlflow", "train.report_to: mlflow")
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    with short_timeouts():
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        exp_id = (
            found.experiment_id
            if found is not None
            else client.create_experiment(experiment, artifact_location=artifact_location)
        )
        run = client.create_run(exp_id, run_name=summary.path.name, tags=summary.tags)
        run_id = run.info.run_id
        try:
            params = [Param(k[:250], v[:_PARAM_MAX]) for k, v in summary.params.items()]
            for i in range(0, len(params), 100):
                client.log_batch(run_id, params=params[i : i + 100])
            now_ms = int(time.time() * 1000)
            points = [
                Metric(key, value, int(ts * 1000), step)
                for step, ts, values in summary.history
                for key, value in values.items()
            ]
            final_step = int(summary.metrics.get("best_step", 0))
            points += [Metric(k, v, now_ms, final_step) for k, v in summary.metrics.items()]
            for i in range(0, len(points), 1000):
                client.log_batch(run_id, metrics=points[i : i + 1000])
            for path in summary.files:
                client.log_artifact(run_id, str(path))
            with tempfile.TemporaryDirectory() as tmp:
                report = _report(summary.path, Path(tmp))
                if report is not None:
                    client.log_artifact(run_id, str(report))
            if summary.model_dir is not None:
                client.log_artifacts(run_id, str(summary.model_dir), "model")
        except BaseException:
            with contextlib.suppress(Exception):
                client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/#/experiments/{exp_id}/runs/{run_id}"
    return f"{uri} (experiment '{experiment}', run {run_id})"


def _report(run_dir: Path, folder: Path) -> Path | None:
    """The run's HTML report, or None when it cannot be built (the rest is still logged)."""
    from tailtune.report import build_report

    try:
        return Path(build_report([run_dir], folder / "report.html"))
    except Exception:  # noqa: BLE001 - a report is a convenience, the metrics are the record
        return None

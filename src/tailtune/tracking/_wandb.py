"""Log a :class:`~tailtune.tracking.summary.RunSummary` to Weights & Biases (when installed).

W&B is not a tailtune extra: a user who has it gets it. ``WANDB_MODE=offline`` (or no login)
writes the run under ``<runs_dir>/wandb`` for a later ``wandb sync``. Final figures go to the
run's summary, the history to its steps, files to an artifact of type ``tailtune-run``.
"""

from __future__ import annotations

from pathlib import Path

from tailtune.tracking.summary import RunSummary

__all__ = ["log_wandb"]


def log_wandb(summary: RunSummary, *, project: str, runs_dir: str | Path) -> str:
    """One W&B run for ``summary`` in ``project``; returns its URL (or local folder offline)."""
    from tailtune.errors import MissingExtraError

    try:
        import wandb
    except ImportError as exc:
        raise MissingExtraError(
            "wandb is not installed (pip install wandb); the run is not reported to it"
        ) from exc
    folder = Path(runs_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        project=project,
        name=summary.path.name,
        config=summary.params,
        tags=[summary.tags.get("tailtune.backend", "tailtune")],
        notes=summary.tags.get("tailtune.run_path"),
        dir=str(folder),
        reinit="create_new",
    )
    try:
        for step, _, values in summary.history:
            run.log(values, step=step)
        run.summary.update({**summary.metrics, **summary.tags})
        artifact = wandb.Artifact(f"run-{summary.path.name}", type="tailtune-run")
        for path in summary.files:
            artifact.add_file(str(path))
        if summary.model_dir is not None:
            artifact.add_dir(str(summary.model_dir), name="model")
        run.log_artifact(artifact)
        where = run.url or str(Path(run.dir).parent)
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish()
    return where

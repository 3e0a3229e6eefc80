"""A rich progress bar showing loss, examples/s and ETA (a no-op when disabled)."""

from __future__ import annotations

import contextlib

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(total: int, enabled: bool, completed: int = 0):
    """Yield ``update(step, loss, examples_per_s)``; draws nothing when ``enabled`` is False."""
    if not enabled:
        yield lambda *args, **kwargs: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}  {task.fields[speed]} ex/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("train", total=total, completed=completed, loss="-", speed="-")

        def update(step: int, loss: float, examples_per_s: float) -> None:
            bar.update(task, completed=step, loss=f"{loss:.4f}", speed=f"{examples_per_s:.0f}")

        yield update

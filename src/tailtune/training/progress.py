"""Training progress: a rich bar on a terminal, plain lines elsewhere, and the run's train.log.

Where stderr is a terminal the rich bar is drawn there. Where it is not (CI, ``nohup``, a SLURM
job's output file) a bar is redrawn characters that nobody sees, so one plain line is written
instead at each evaluation and every ``log_every_s`` seconds::

    step 40/120 epoch 1.33 loss 0.8123 54.2 ex/s ETA 0:01:23
    eval step 40/120 epoch 1.33 loss 0.8123 54.2 ex/s ETA 0:01:23 val_loss 0.9120 macro_f1 0.6521

The same lines are appended to ``train.log`` in the work folder (terminal or not), so a finished
run keeps its progress record. The ETA is the steps left at this session's seconds per step,
capped by what is left of ``train.time_budget``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["Progress", "format_duration", "progress_line"]

# validation scores shown on an evaluation line, when the history record has them
EVAL_KEYS = ("val_loss", "accuracy", "macro_f1")


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` (``-:--:--`` when unknown)."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "-:--:--"
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def progress_line(step, total, epoch, loss, examples_per_s, eta_s, record=None) -> str:
    """One plain progress line (an evaluation line when ``record`` is given)."""
    text = (
        f"step {step}/{total} epoch {epoch:.2f} loss {loss:.4f} {examples_per_s:.1f} ex/s "
        f"ETA {format_duration(eta_s)}"
    )
    if record is None:
        return text
    scores = " ".join(f"{k} {record[k]:.4f}" for k in EVAL_KEYS if k in record)
    return f"eval {text}" + (f" {scores}" if scores else "")


class Progress:
    """Context manager: ``update`` after every optimizer step, ``evaluation`` after each one.

    ``enabled`` draws on stderr (bar or lines); ``log_file`` (None on non-main processes and
    without a work folder) receives the plain lines either way. ``time_left`` returns the
    seconds left of the time budget (or None), to cap the ETA.
    """

    def __init__(
        self,
        total: int,
        *,
        enabled: bool,
        completed: int = 0,
        log_every_s: float = 30.0,
        log_file: str | Path | None = None,
        time_left=None,
        stream=None,
        clock=time.monotonic,
    ):
        self.total, self.completed, self.every = total, completed, log_every_s
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.bar_wanted = enabled and _is_tty(self.stream)
        self.log_path = Path(log_file) if log_file is not None else None
        self.time_left = time_left or (lambda: None)
        self.clock = clock
        self._t0 = clock()
        self._last_line = self._t0
        self._bar = self._task = None
        self._fh = None
        self._last = (completed, 0.0, float("nan"), 0.0)  # step, epoch, loss, ex/s

    def __enter__(self) -> Progress:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.log_path.open("a", encoding="utf-8")
        if self.bar_wanted:
            self._start_bar()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self._fh is not None:
            self._fh.close()

    def note(self, text: str) -> None:
        """A line in train.log (and on stderr without a bar): what happened, not a figure."""
        self._emit(text, to_stream=self.enabled and not self.bar_wanted)

    def update(self, step: int, epoch: float, loss: float, examples_per_s: float) -> None:
        """After an optimizer step: move the bar; a plain line every ``log_every_s`` seconds."""
        self._last = (step, epoch, loss, examples_per_s)
        if self._bar is not None:
            self._bar.update(
                self._task, completed=step, loss=f"{loss:.4f}", speed=f"{examples_per_s:.0f}"
            )
        now = self.clock()
        if now - self._last_line >= self.every:
            self._line(None)

    def evaluation(self, record: dict, examples_per_s: float | None = None) -> None:
        """After an evaluation (``record`` is its history line): always a plain line."""
        step, _, _, speed = self._last
        loss = record.get("train_loss", self._last[2])
        self._last = (record["step"], record["epoch"], loss, speed)
        if examples_per_s is not None:
            self._last = (*self._last[:3], examples_per_s)
        self._line(record)

    # -- internals -------------------------------------------------------------------------

    def eta_s(self, step: int) -> float | None:
        """Seconds left: remaining steps at this session's pace, capped by the budget left."""
        done = step - self.completed
        eta = None
        if done > 0:
            eta = (self.total - step) * (self.clock() - self._t0) / done
        left = self.time_left()
        if left is not None:
            eta = max(0.0, left) if eta is None else min(eta, max(0.0, left))
        return eta

    def _line(self, record) -> None:
        step, epoch, loss, speed = self._last
        text = progress_line(step, self.total, epoch, loss, speed, self.eta_s(step), record)
        self._last_line = self.clock()
        self._emit(text, to_stream=self.enabled and not self.bar_wanted)

    def _emit(self, text: str, to_stream: bool) -> None:
        if self._fh is not None:
            self._fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
            self._fh.flush()
        if to_stream:
            print(text, file=self.stream, flush=True)

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        columns = (
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[speed]} ex/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        console = Console(file=self.stream)
        self._bar = RichProgress(*columns, console=console, transient=False)
        self._bar.start()
        self._task = self._bar.add_task(
            "train", total=self.total, completed=self.completed, loss="-", speed="-"
        )


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or fake stream
        return False

"""Pruning from the outside: follow each running trial's history and stop the hopeless ones.

The training loop knows nothing of Optuna. It appends one line per evaluation to
``history.jsonl`` in its run folder and ends, keeping its best checkpoint, when a ``STOP``
file appears there (``tailtune.runs.layout.STOP_REQUEST``). This thread, in the sweep's
process, reads the new lines of every running trial, reports the metric at each evaluation
(``trial.report(value, k)`` for the k-th evaluation, so trials with other batch sizes compare
epoch for epoch) and writes ``STOP`` when ``trial.should_prune()``. It works for trials in this
process, in worker processes and on Ray workers that share the runs folder.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from tailtune.runs import layout

__all__ = ["HistoryPruner", "POLL_S"]

POLL_S = 1.0  # seconds between two reads of the running trials' histories


class HistoryPruner(threading.Thread):
    """Poll every ``interval`` seconds until :meth:`stop`; ``pruned`` holds the stopped trials."""

    def __init__(self, sweep_dir: Path, metric: str, interval: float | None = None):
        super().__init__(name="tailtune-sweep-pruner", daemon=True)
        self.sweep_dir, self.metric = Path(sweep_dir), metric
        self.interval = POLL_S if interval is None else interval
        self.trials: dict[str, object] = {}  # folder stem -> optuna Trial
        self.seen: dict[str, int] = {}  # folder stem -> evaluations reported
        self.pruned: set[str] = set()
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def follow(self, stem: str, trial) -> None:
        """Start following the trial that trains in ``.tmp-<stem>-*``."""
        with self._lock:
            self.trials[stem], self.seen[stem] = trial, 0

    def forget(self, stem: str, run_dir: str | Path | None = None) -> None:
        """The trial ended: report the evaluations not yet reported (read from its finished
        ``run_dir`` when given), then stop following it."""
        self.poll_once(only=stem, folder=Path(run_dir) if run_dir else None)
        with self._lock:
            self.trials.pop(stem, None)

    def run(self) -> None:  # noqa: D102 - threading.Thread's entry point
        while not self._halt.wait(self.interval):
            self.poll_once()

    def stop(self) -> None:
        """End the thread (after its current poll)."""
        self._halt.set()
        if self.is_alive():
            self.join()

    def poll_once(self, only: str | None = None, folder: Path | None = None) -> None:
        """Report new evaluations of the followed trials; write STOP for the ones to prune."""
        with self._lock:
            for stem, trial in list(self.trials.items()):
                if only is not None and stem != only or stem in self.pruned:
                    continue
                folder, rows = self._history(stem, folder)
                for row in rows[self.seen[stem] :]:
                    self.seen[stem] += 1
                    value = row.get(self.metric)
                    if isinstance(value, int | float):
                        trial.report(float(value), self.seen[stem])
                if rows and trial.should_prune():
                    self.pruned.add(stem)
                    for history in folder.rglob(layout.HISTORY):
                        (history.parent / layout.STOP_REQUEST).touch()

    def _history(self, stem: str, given: Path | None) -> tuple[Path | None, list[dict]]:
        """The trial's work folder and its evaluations so far (the shallowest history file:
        a composite's first neural member when the run itself has none)."""
        folders = [given] if given else self.sweep_dir.glob(f"{layout.TMP_PREFIX}{stem}-*")
        for folder in sorted(folders):
            files = sorted(folder.rglob(layout.HISTORY), key=lambda p: (len(p.parts), str(p)))
            if not files:
                return folder, []
            rows = []
            for line in files[0].read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    break  # a line being written: read it at the next poll
            return folder, rows
        return None, []

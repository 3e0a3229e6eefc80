"""Run directories: the atomic writer, the reader every analysis uses, and the environment record."""

from tailtune.runs.env import environment
from tailtune.runs.index import (
    compare_runs,
    ensure_index,
    index_path,
    index_run,
    list_runs,
    mark_status,
    rebuild_index,
    show_run,
)
from tailtune.runs.reader import Run, find_runs, is_run_dir, read_run
from tailtune.runs.writer import RunWriter, write_json_atomic

__all__ = [
    "Run",
    "RunWriter",
    "compare_runs",
    "ensure_index",
    "environment",
    "index_path",
    "index_run",
    "list_runs",
    "mark_status",
    "rebuild_index",
    "show_run",
    "find_runs",
    "is_run_dir",
    "read_run",
    "write_json_atomic",
]

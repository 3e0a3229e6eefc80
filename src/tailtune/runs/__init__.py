"""Run directories: the atomic writer, the reader every analysis uses, the environment record,
the SQLite index and the unfinished folders runs leave behind."""

from tailtune.runs.clean import (
    find_abandoned,
    find_unfinished,
    remove_abandoned,
    unfinished_table,
)
from tailtune.runs.env import environment
from tailtune.runs.index import (
    compare_runs,
    ensure_index,
    index_path,
    index_run,
    list_runs,
    mark_status,
    rebuild_index,
    reconcile_index,
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
    "find_abandoned",
    "find_unfinished",
    "index_path",
    "index_run",
    "list_runs",
    "mark_status",
    "rebuild_index",
    "reconcile_index",
    "remove_abandoned",
    "show_run",
    "unfinished_table",
    "find_runs",
    "is_run_dir",
    "read_run",
    "write_json_atomic",
]

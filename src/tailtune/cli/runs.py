"""``tailtune runs``: the SQLite index of run directories (list, show, compare, reindex) and the
unfinished folders interrupted runs leave (listed by ``list``, removed by ``clean``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import JsonOpt, RunsDir, command
from tailtune.cli._print import console, print_frame

app = typer.Typer(help="List and inspect run directories.", no_args_is_help=True)

# The columns a narrow terminal keeps, so that `runs list` stays readable at 80 columns
# (`--json` has everything).
_NARROW_COLUMNS = ["name", "backend", "status", "macro_f1", "zero_f1", "run_dir"]


@command(app, "list", "Runs in the index, filtered and sorted.")
def runs_list(
    runs_dir: Annotated[Path, typer.Argument(help="Folder holding run directories.")] = Path(
        "runs"
    ),
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Filter field<op>value, op in = != ~ > < >= <= (repeatable)."),
    ] = None,
    sort: Annotated[str | None, typer.Option(help="Sort by a metric or config field.")] = None,
    limit: Annotated[int | None, typer.Option(help="Show at most N runs.")] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="Extra config field to show (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Runs in the SQLite index (reconciled with the run directories first), then the
    interrupted runs: step reached, resumable or still in progress, size.

    Examples:
    tailtune runs list runs
    tailtune runs list runs --where backend=tfidf --where 'macro_f1>0.3'
    tailtune runs list runs --sort macro_f1 --column objective.class_weights
    """
    from tailtune.cli._options import check_int
    from tailtune.runs import list_runs, unfinished_table

    check_int("--limit", limit, 1)
    frame = list_runs(runs_dir, where=where, sort=sort, limit=limit, columns=column)
    if as_json:
        console.print_json(frame.to_json(orient="records"))
    else:
        title = f"runs in {runs_dir}"
        if console.width < 160 and not column:
            keep = [c for c in _NARROW_COLUMNS if c in frame.columns]
            frame = frame[keep]
            title += " (a wider terminal or --json shows every column)"
        print_frame(frame, title=title)
        unfinished = unfinished_table(runs_dir)
        if len(unfinished):
            print_frame(unfinished.drop(columns=["pid"]), title=f"unfinished runs in {runs_dir}")


@command(app, "show")
def runs_show(
    ref: Annotated[str, typer.Argument(help="Run directory, name or config-hash prefix.")],
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Everything the index holds about one run.

    Examples:
    tailtune runs show tfidf-20261201-101500
    tailtune runs show 3f2a9c --runs-dir runs/quickstart
    """
    from tailtune.runs import show_run

    console.print_json(json.dumps(show_run(runs_dir, ref), default=str))


@command(app, "compare", "Metrics, tier F1 and differing config fields, side by side.")
def runs_compare(
    refs: Annotated[
        list[str], typer.Argument(help="Two or more runs: folders, names or hash prefixes.")
    ],
    runs_dir: RunsDir = Path("runs"),
    all_fields: Annotated[bool, typer.Option("--all", help="Show every config field.")] = False,
) -> None:
    """Metrics, per-tier F1 and the config fields that differ, side by side.

    Examples:
    tailtune runs compare tfidf tfidf-sqrt-inverse --runs-dir runs/quickstart
    tailtune runs compare tfidf-20261201-101500 sqrt-20261201-102200 --all
    """
    from tailtune.runs import compare_runs

    print_frame(compare_runs(runs_dir, refs, all_fields=all_fields).reset_index())


@command(app, "reindex")
def runs_reindex(
    runs_dir: Annotated[Path, typer.Argument(help="Runs folder.")] = Path("runs"),
) -> None:
    """Rebuild runs/index.db from the run directories.

    Examples:
    tailtune runs reindex runs
    """
    from tailtune.runs import rebuild_index

    console.print(f"rebuilt {rebuild_index(runs_dir)}")


@command(app, "clean", "Remove abandoned temporary run folders.")
def runs_clean(
    runs_dir: Annotated[Path, typer.Argument(help="Runs folder.")] = Path("runs"),
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Only folders untouched this long: 30m, 12h, 1d, 2w."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Remove without asking.")] = False,
) -> None:
    """List unfinished run folders whose process is gone (killed or interrupted runs, dead
    experiment job folders) with their sizes, and remove them on confirmation. A folder whose
    process still runs is never listed; a resumable one is marked, as removing it loses the
    checkpoint a resume would continue from.

    Examples:
    tailtune runs clean runs
    tailtune runs clean runs --older-than 1d --yes
    """
    from tailtune.runs import find_abandoned, remove_abandoned
    from tailtune.runs.clean import human_size, parse_age, unfinished_rows

    limit = parse_age(older_than) if older_than else None  # a bad duration fails before the scan
    items = find_abandoned(runs_dir, older_than=limit)
    if not items:
        console.print(f"no abandoned folders in {runs_dir}")
        return
    total = sum(u.size for u in items)
    print_frame(unfinished_rows(items, runs_dir), title=f"abandoned folders in {runs_dir}")
    console.print(f"{len(items)} folder(s), {human_size(total)}")
    if not yes:
        if not sys.stdin.isatty():
            console.print("nothing removed: re-run with --yes to remove them")
            return
        if not typer.confirm("remove them?", default=False):
            console.print("nothing removed")
            return
    removed = remove_abandoned(items)
    freed = sum(u.size for u in removed)
    console.print(f"removed {len(removed)} folder(s), {human_size(freed)} freed")
    left = [u for u in items if u.path.exists() and u not in removed]
    if left:
        from tailtune.errors import TailtuneError

        raise TailtuneError(
            f"{len(left)} folder(s) could not be removed ({left[0].path}): read-only file system "
            "or no permission"
        )

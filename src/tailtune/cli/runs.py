"""``tailtune runs``: the SQLite index of run directories (list, show, compare, reindex)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import JsonOpt, RunsDir, examples
from tailtune.cli._print import console, print_frame

app = typer.Typer(help="List and inspect run directories.", no_args_is_help=True)

# The columns a narrow terminal keeps, so that `runs list` stays readable at 80 columns
# (`--json` has everything).
_NARROW_COLUMNS = ["name", "backend", "status", "macro_f1", "zero_f1", "run_dir"]


@app.command(
    "list",
    epilog=examples(
        "tailtune runs list runs",
        "tailtune runs list runs --where backend=tfidf --where 'macro_f1>0.3'",
        "tailtune runs list runs --sort macro_f1 --column objective.class_weights",
    ),
)
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
    """Runs in the SQLite index (rebuilt from the run directories when missing or corrupt)."""
    from tailtune.runs import list_runs

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


@app.command(
    "show",
    epilog=examples(
        "tailtune runs show tfidf-20261201-101500",
        "tailtune runs show 3f2a9c --runs-dir runs/quickstart",
    ),
)
def runs_show(
    ref: Annotated[str, typer.Argument(help="Run directory, name or config-hash prefix.")],
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Everything the index holds about one run."""
    from tailtune.runs import show_run

    console.print_json(json.dumps(show_run(runs_dir, ref), default=str))


@app.command(
    "compare",
    epilog=examples(
        "tailtune runs compare tfidf tfidf-sqrt-inverse --runs-dir runs/quickstart",
        "tailtune runs compare tfidf-20261201-101500 sqrt-20261201-102200 --all",
    ),
)
def runs_compare(
    refs: Annotated[list[str], typer.Argument(help="Two or more runs.")],
    runs_dir: RunsDir = Path("runs"),
    all_fields: Annotated[bool, typer.Option("--all", help="Show every config field.")] = False,
) -> None:
    """Metrics, per-tier F1 and the config fields that differ, side by side."""
    from tailtune.runs import compare_runs

    print_frame(compare_runs(runs_dir, refs, all_fields=all_fields).reset_index())


@app.command("reindex", epilog=examples("tailtune runs reindex runs"))
def runs_reindex(
    runs_dir: Annotated[Path, typer.Argument(help="Runs folder.")] = Path("runs"),
) -> None:
    """Rebuild runs/index.db from the run directories."""
    from tailtune.runs import rebuild_index

    console.print(f"rebuilt {rebuild_index(runs_dir)}")

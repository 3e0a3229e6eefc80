"""Options and helpers shared by several command modules (no printing here: see ``_print``)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "ConfigOpt",
    "Encoding",
    "Fmt",
    "JsonOpt",
    "LabelCol",
    "RecipeOpt",
    "RunsDir",
    "SetOpt",
    "SkipRows",
    "TextCol",
    "command",
    "data_config",
    "examples",
    "load_data",
    "resolve_config",
    "write_frame_atomic",
]

TextCol = Annotated[
    list[str] | None, typer.Option("--text-col", help="Text column (repeat to join several).")
]
LabelCol = Annotated[
    list[str] | None,
    typer.Option(
        "--label-col", help="Label column (repeat for a composite label, e.g. Product + Issue)."
    ),
]
SkipRows = Annotated[
    int, typer.Option("--skip-rows", help="Leading lines to skip before the header.")
]
Fmt = Annotated[str, typer.Option("--format", help="auto, csv, tsv, jsonl, parquet or hf.")]
Encoding = Annotated[str, typer.Option("--encoding", help="File encoding.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Read data options from this config.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config field: section.field=value (repeatable)."),
]
RecipeOpt = Annotated[
    str | None,
    typer.Option(
        help="A shipped recipe instead of CONFIG: cpu-longtail, cpu-finetune (docs/training.md)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder holding the runs and index.db.")]


def command(app: typer.Typer, name: str, short_help: str | None = None):
    """Register the decorated function as command ``name`` of ``app``.

    The docstring is the --help text up to an ``Examples:`` line; the command lines below it
    (each starting ``tailtune``, an indented line continuing the one above) become the
    ``Examples:`` epilog, so a command's examples sit beside its doc and are declared the same
    way in every module. ``short_help`` is the command list's one-line summary.
    """

    def register(fn):
        doc, _, tail = inspect.cleandoc(fn.__doc__ or "").partition("\nExamples:\n")
        lines: list[str] = []
        for line in tail.splitlines():
            if line.startswith("tailtune"):
                lines.append(line.strip())
            elif line.strip():
                lines[-1] += " " + line.strip()
        epilog = examples(*lines) if lines else None
        return app.command(name, help=doc.strip(), short_help=short_help, epilog=epilog)(fn)

    return register


def examples(*commands: str) -> str:
    """An ``Examples:`` epilog for a command's --help, one command line per line.

    Typer renders help text as rich markup, so square brackets do not belong in an example.
    """
    return "Examples:\n" + "\n".join(commands)


def resolve_config(config: Path | None, recipe: str | None, overrides: list[str] | None, what: str):
    """The validated config from a CONFIG file or a shipped --recipe (not both), plus --set."""
    from tailtune.config import load_config, recipe_path
    from tailtune.errors import ConfigError

    if recipe is not None:
        if config is not None:
            raise ConfigError(f"{what}: give a CONFIG file or --recipe, not both")
        config = recipe_path(recipe)
    return load_config(config, overrides)


def data_config(config, text_col, label_col, skip_rows, fmt, encoding, overrides=None):
    """A config whose data section takes the command-line reading options over ``config``."""
    from tailtune.cli._options import check_int
    from tailtune.config import load_config

    check_int("--skip-rows", skip_rows, 0)
    sets = list(overrides or [])
    if text_col:
        sets.append(f"data.text_columns={json.dumps(text_col)}")
    if label_col:
        sets.append(f"data.label_columns={json.dumps(label_col)}")
    if skip_rows:
        sets.append(f"data.skip_rows={skip_rows}")
    if fmt != "auto":
        sets.append(f"data.format={fmt}")
    if encoding != "utf-8":
        sets.append(f"data.encoding={encoding}")
    return load_config(config, sets)


def load_data(cfg, path: list[Path]):
    """(frame, load report) of one or several data files, read with ``cfg.data``."""
    from tailtune.workflow.prepare import load_frame

    return load_frame(cfg.data, [str(p) for p in path] if len(path) > 1 else str(path[0]))


def write_frame_atomic(frame, out: Path) -> None:
    """Write a CSV through a temporary file, so a failed write never leaves half a file."""
    from tailtune._atomic import write_csv

    write_csv(frame, out)

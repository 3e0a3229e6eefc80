"""Options and helpers shared by several command modules (no printing here: see ``_print``)."""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "ConfigArg",
    "ConfigOpt",
    "Encoding",
    "Fmt",
    "JsonOpt",
    "LabelCol",
    "RecipeOpt",
    "RunArg",
    "RunsDir",
    "SetOpt",
    "SkipRows",
    "TextCol",
    "command",
    "data_config",
    "examples",
    "load_data",
    "reads_data",
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
ConfigArg = Annotated[Path | None, typer.Argument(help="YAML config (defaults if omitted).")]
RunArg = Annotated[Path, typer.Argument(help="Run directory.")]
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
        help="A shipped recipe instead of CONFIG: cpu-longtail, cpu-longtail-tuned, cpu-finetune "
        "(docs/training.md)."
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


def data_config(
    config=None, text_col=None, label_col=None, skip_rows=0, fmt="auto", encoding="utf-8", set_=None
):
    """A config whose data section takes the command-line reading options over ``config``."""
    from tailtune.cli._options import check_int
    from tailtune.config import load_config

    check_int("--skip-rows", skip_rows, 0)
    sets = list(set_ or [])
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


# The options every command that reads a data file takes, in --help order: (name, type, default).
_READ_OPTIONS = (
    ("text_col", TextCol, None),
    ("label_col", LabelCol, None),
    ("skip_rows", SkipRows, 0),
    ("fmt", Fmt, "auto"),
    ("encoding", Encoding, "utf-8"),
    ("config", ConfigOpt, None),
    ("set_", SetOpt, None),
)


def reads_data(fn):
    """Give a command the data-reading options and call it with ``cfg=`` their resolved config.

    The decorated function declares a ``cfg`` parameter instead of the seven options; its
    --help lists them after its own, and ``cfg`` is :func:`data_config` of their values, so
    every command reads a data file with the same options and the same precedence.
    """
    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "cfg"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in _READ_OPTIONS
    ]

    @functools.wraps(fn)
    def command_fn(*args, **kwargs):
        read = {name: kwargs.pop(name) for name, _, _ in _READ_OPTIONS}
        return fn(*args, cfg=data_config(**read), **kwargs)

    command_fn.__signature__ = sig.replace(parameters=own + added)
    command_fn.__annotations__ = {p.name: p.annotation for p in own + added}
    return command_fn


def load_data(cfg, path: list[Path]):
    """(frame, load report) of one or several data files, read with ``cfg.data``."""
    from tailtune.workflow.prepare import load_frame

    return load_frame(cfg.data, [str(p) for p in path] if len(path) > 1 else str(path[0]))


def write_frame_atomic(frame, out: Path) -> None:
    """Write a CSV through a temporary file, so a failed write never leaves half a file."""
    from tailtune._atomic import write_csv

    write_csv(frame, out)

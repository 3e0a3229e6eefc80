"""The ``tailtune`` command line: thin commands that parse, call one library function, print.

Each concern is a module of this package with its own ``app`` (a Typer app); this module only
assembles them, in the order ``tailtune --help`` lists them. A new command module registers with
one ``app.add_typer`` line below: without a name its commands join the top level, with one they
form a command group (``tailtune data …``). Command modules import from ``_common`` and
``_print``, never from this module, so imports run one way.

Every command that can fail on user input raises TailtuneError, which :func:`main` prints as one
literal ``error:`` line on stderr with exit code 1 (no traceback).
"""

from __future__ import annotations

import sys
import warnings

import typer

from tailtune.cli import (
    add_class,
    advise,
    analyze,
    calc,
    config,
    data,
    experiment,
    export,
    runs,
    sweep,
    train,
)
from tailtune.cli._print import err_console, print_error
from tailtune.errors import TailtuneError

__all__ = ["app", "main", "os_error_line", "own_warnings"]

app = typer.Typer(
    help="Fine-tune and evaluate text classifiers on long-tailed label sets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(train.app)  # quickstart, train, evaluate, predict
app.add_typer(add_class.app)  # add-class
app.add_typer(analyze.app)  # diagnose, noise, errors, report
app.add_typer(advise.app)  # advise
app.add_typer(data.app, name="data")
app.add_typer(config.app, name="config")
app.add_typer(runs.app, name="runs")
app.add_typer(experiment.app, name="experiment")
app.add_typer(calc.app, name="calc")
app.add_typer(export.app)  # export, serve
app.add_typer(sweep.app)  # sweep, track


def main() -> None:
    """Console entry point: user errors become one literal line and exit code 1.

    An error that carries its own ``exit_code`` (an interrupted training run: 128 + the signal's
    number) passes it on, so a batch scheduler sees a terminated job rather than a failed one.
    """
    for stream in (sys.stdout, sys.stderr):
        # a file name with bytes that are not UTF-8 arrives as lone surrogates: print them
        # escaped instead of failing on "wrote <path>" after the work is done
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # a tracker that is down is said once, as a "warning:" line of the run's own story; the
    # Python warning beside it is for library callers, not a second copy on the console
    # (matched by its text: importing tailtune.tracking here would slow every command)
    warnings.filterwarnings("ignore", message=r"train\.report_to: ")
    own_warnings()
    try:
        app()
    except TailtuneError as exc:
        print_error(exc)
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except OSError as exc:
        # the last net for a path the file system refuses where no check named it first (a name
        # too long, a loop of links): one line naming the path, as for every other bad input
        print_error(os_error_line(exc))
        sys.exit(1)


def own_warnings() -> None:
    """A warning tailtune raises prints as one ``warning:`` line, as the commands' own warnings
    do, without the file and source line Python adds (a user did nothing wrong in that file);
    other libraries' warnings keep Python's format."""
    from pathlib import Path

    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if file is None and "tailtune" in Path(str(filename)).parts:
            err_console.print(f"warning: {message}", style="yellow", soft_wrap=True, markup=False)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def os_error_line(exc: OSError) -> str:
    """``<path>: <reason>`` of an OSError, a long path shortened to its first 80 characters."""
    name = exc.filename if exc.filename is not None else ""
    name = str(name)
    if len(name) > 80:
        name = name[:80] + f"… ({len(name):,} characters)"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{name}: {reason}" if name else reason

"""``tailtune add-class``: a finished run that also predicts a new class, without retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import RunArg, SetOpt, command
from tailtune.cli._print import console, err_console

app = typer.Typer()


@command(app, "add-class", "Add a class from a few example texts, into a new run folder.")
def add_class_cmd(
    run: RunArg,
    label: Annotated[str, typer.Option("--label", help="Name of the new class.")],
    texts: Annotated[
        Path,
        typer.Option("--texts", help="Its example texts: .txt (one a line), CSV, TSV, JSONL."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The new run folder (must not exist).")],
    set_: SetOpt = None,
) -> None:
    """Add a class to a run's model from a few example texts, without retraining.

    Backends that keep one prototype per class (prototype) embed the examples and add their
    centroid, or each of them for the k-NN rule; the run is copied to --out with the extended
    model and labels, and the source run is left as it was. The new folder holds no scores:
    score it with tailtune evaluate. --set data.FIELD=VALUE changes how --texts is read.

    Examples:
    tailtune add-class runs/proto-20261201-101500 --label "crypto wallet" --texts crypto.txt
      -o runs/proto-crypto
    """
    from tailtune.workflow.add_class import add_class

    path = add_class(
        run, label, texts, out, set_, say=lambda line: err_console.print(line, style="yellow")
    )
    console.print(
        f"wrote {path}: class '{label}' added; not scored yet (tailtune evaluate)", soft_wrap=True
    )

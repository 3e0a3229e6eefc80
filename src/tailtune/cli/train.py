"""``tailtune quickstart``, ``train``, ``evaluate`` and ``predict``: make runs and use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tailtune.cli._common import (
    JsonOpt,
    RecipeOpt,
    SetOpt,
    examples,
    resolve_config,
    write_frame_atomic,
)
from tailtune.cli._print import comparison_table, console, print_metrics_table, print_run_summary
from tailtune.errors import TailtuneError

app = typer.Typer()


@app.command(
    "quickstart",
    short_help="Three runs on synthetic data that show the long-tail trade-off.",
    epilog=examples(
        "tailtune quickstart",
        "tailtune quickstart --preset cfpb113 --runs-dir runs/qs-cfpb",
    ),
)
def quickstart_cmd(
    runs_dir: Annotated[Path, typer.Option(help="Where the three runs go.")] = Path(
        "runs/quickstart"
    ),
    preset: Annotated[str, typer.Option(help="Synthetic preset: small or cfpb113.")] = "small",
    seed: Annotated[int, typer.Option(help="Data and model seed.")] = 42,
) -> None:
    """Train majority, TF-IDF and TF-IDF + sqrt-inverse weights on built-in SYNTHETIC data."""
    from tailtune.quickstart import run_quickstart

    results = run_quickstart(runs_dir=runs_dir, preset=preset, seed=seed, log=_bold)
    console.print(comparison_table(results, title=f"Validation, synthetic '{preset}' preset"))
    console.print(
        "Accuracy falls and macro F1 rises with class weights: the head is traded for "
        "the long tail (the accuracy-macro-F1 trade-off of class re-weighting, Cui et al. 2019). "
        f"Runs are in {runs_dir}; open one with `tailtune runs list {runs_dir}`."
    )


@app.command(
    "train",
    short_help="Train a config and write a run directory.",
    epilog=examples(
        "tailtune train configs/cfpb-tfidf.yaml",
        "tailtune train --recipe cpu-longtail --set data.path=complaints.csv",
        "tailtune train configs/atis-minilm-encoder.yaml --set train.lr=3e-5",
    ),
)
def train_cmd(
    config: Annotated[
        Path | None, typer.Argument(help="YAML config (defaults if omitted).")
    ] = None,
    set_: SetOpt = None,
    recipe: RecipeOpt = None,
    name: Annotated[str | None, typer.Option(help="Run name (default: config name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
) -> None:
    """Train a config and write a run directory (config, metrics, predictions, model)."""
    from tailtune.workflow import train

    cfg = resolve_config(config, recipe, set_, what="train")
    path = train(cfg, quiet=quiet, run_name=name, log=None if quiet else console.print)
    print_run_summary(path)


@app.command(
    "evaluate",
    short_help="Score a trained run on another labelled file.",
    epilog=examples(
        "tailtune evaluate runs/tfidf-20261201-101500 --data data/test.csv",
        "tailtune evaluate runs/tfidf-20261201-101500 --data data/test.csv --json",
    ),
)
def evaluate_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled file to score.")],
    as_json: JsonOpt = False,
) -> None:
    """Score a trained run on another labelled file (read with the run's data options)."""
    from tailtune.workflow import evaluate

    scored = evaluate(run, data)
    if as_json:
        console.print_json(json.dumps(scored["metrics"], default=str))
    else:
        print_metrics_table({"eval": scored["metrics"]})


@app.command(
    "predict",
    short_help="Predict labels for texts given inline or in a file.",
    epilog=examples(
        'tailtune predict runs/tfidf-20261201-101500 --text "card charged twice"',
        "tailtune predict runs/tfidf-20261201-101500 --input new.csv --output p.csv",
    ),
)
def predict_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    text: Annotated[
        list[str] | None, typer.Option("--text", help="A text to classify (repeatable).")
    ] = None,
    input_: Annotated[Path | None, typer.Option("--input", help="File with a text column.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write predictions CSV here.")
    ] = None,
    text_col: Annotated[str, typer.Option("--text-col", help="Text column of --input.")] = "text",
    top_k: Annotated[int, typer.Option(help="Probabilities to keep per text.")] = 3,
) -> None:
    """Predict labels for texts given inline or in a file."""
    from tailtune.workflow import predict

    texts = list(text or [])
    if input_ is not None:
        texts += _read_texts(input_, text_col)
    if not texts:
        raise TailtuneError("predict: give --text or --input")
    frame = predict(run, texts, top_k=top_k)
    if output is not None:
        write_frame_atomic(frame, output)
        console.print(f"wrote {output}: {len(frame):,} predictions")
        return
    table = Table("text", "prediction", "p")
    for row in frame.itertuples():
        table.add_row(Text(row.text[:80]), Text(str(row.pred)), f"{row.prob:.3f}")
    console.print(table)


def _bold(label: str) -> None:
    console.print(Text(label, style="bold"))


def _read_texts(path: Path, column: str) -> list[str]:
    import pandas as pd

    from tailtune.errors import DataError

    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if path.suffix in (".txt",):
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    frame = pd.read_json(path, lines=True) if path.suffix == ".jsonl" else pd.read_csv(path)
    if column not in frame.columns:
        raise DataError(
            f"{path}: no column '{column}' (columns: {', '.join(map(str, frame.columns))})"
        )
    return frame[column].astype(str).tolist()

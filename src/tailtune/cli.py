"""The ``tailtune`` command line: thin commands that parse, call one function, and print.

Every command that can fail on user input raises TailtuneError, which ``main`` prints as one
``error:`` line with exit code 1 (no traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tailtune.errors import TailtuneError

app = typer.Typer(
    help="Fine-tune and evaluate text classifiers on long-tailed label sets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect, split and subset labelled data.", no_args_is_help=True)
runs_app = typer.Typer(help="List and inspect run directories.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")

console = Console()
err_console = Console(stderr=True)

# -- shared options --------------------------------------------------------------------------

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
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _data_config(config, text_col, label_col, skip_rows, fmt, encoding, overrides=None):
    from tailtune.config import load_config

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


def _load(cfg, path):
    from tailtune.prepare import load_frame

    return load_frame(cfg.data, [str(p) for p in path] if len(path) > 1 else str(path[0]))


# -- data ------------------------------------------------------------------------------------


@data_app.command("stats")
def data_stats(
    path: Annotated[list[Path], typer.Argument(help="Data file(s): csv, tsv, jsonl, parquet.")],
    text_col: TextCol = None,
    label_col: LabelCol = None,
    skip_rows: SkipRows = 0,
    fmt: Fmt = "auto",
    encoding: Encoding = "utf-8",
    head_min: Annotated[int, typer.Option(help="Head tier: at least this many examples.")] = 2000,
    tail_max: Annotated[int, typer.Option(help="Tail tier: fewer than this many examples.")] = 100,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Class statistics: sizes, imbalance, classes under 20/100, frequency tiers."""
    from tailtune.data import class_stats

    cfg = _data_config(config, text_col, label_col, skip_rows, fmt, encoding, set_)
    frame, report = _load(cfg, path)
    stats = class_stats(frame["label"], head_min=head_min, tail_max=tail_max)
    if as_json:
        console.print_json(json.dumps({"load": report, "stats": stats}, default=str))
        return
    _print_load_report(report)
    _print_stats(stats)


@data_app.command("split")
def data_split(
    path: Annotated[list[Path], typer.Argument(help="Data file(s) to split.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for train/val/test.csv.")],
    val: Annotated[float, typer.Option(help="Validation share (0-1) or count.")] = 0.1,
    test: Annotated[float, typer.Option(help="Test share (0-1) or count; 0 = none.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Split seed.")] = 42,
    min_class_size: Annotated[int, typer.Option(help="Drop (and list) smaller classes.")] = 1,
    drop_duplicates: Annotated[bool, typer.Option(help="Remove exact duplicates.")] = False,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    skip_rows: SkipRows = 0,
    fmt: Fmt = "auto",
    encoding: Encoding = "utf-8",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Seeded stratified split that survives rare classes; same seed, byte-identical files."""
    from tailtune.data import clean, split_frame, write_split

    cfg = _data_config(config, text_col, label_col, skip_rows, fmt, encoding, set_)
    frame, report = _load(cfg, path)
    _print_load_report(report)
    frame, clean_report = clean(
        frame, drop_duplicates=drop_duplicates, min_class_size=min_class_size
    )
    _print_report("clean", clean_report)
    result = split_frame(frame, val=val, test=test, seed=seed)
    written = write_split(result, out)
    _print_report("split", result.report)
    for p in written:
        console.print(f"wrote {p}")


@data_app.command("subset")
def data_subset(
    path: Annotated[list[Path], typer.Argument(help="Data file(s).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV.")],
    labels: Annotated[
        str | None, typer.Option(help="Top-K labels (a number) or names separated by commas.")
    ] = None,
    per_class: Annotated[int | None, typer.Option(help="Examples per class (balanced).")] = None,
    rows: Annotated[int | None, typer.Option(help="Stratified subsample of N rows.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 42,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    skip_rows: SkipRows = 0,
    fmt: Fmt = "auto",
    encoding: Encoding = "utf-8",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Top-K labels x N per class (seed 003's grid), or a stratified subsample (seed 001)."""
    from tailtune.data import stratified_subsample, subset_labels

    cfg = _data_config(config, text_col, label_col, skip_rows, fmt, encoding, set_)
    frame, _ = _load(cfg, path)
    if labels is not None or per_class is not None:
        chosen = None
        if labels is not None:
            chosen = int(labels) if labels.isdigit() else [s.strip() for s in labels.split(",")]
        frame = subset_labels(
            frame,
            labels=chosen if chosen is not None else frame["label"].nunique(),
            per_class=per_class,
            seed=seed,
        )
    if rows is not None:
        frame = stratified_subsample(frame, rows, seed=seed)
    _write_frame_atomic(frame, out)
    console.print(f"wrote {out}: {len(frame):,} rows, {frame['label'].nunique()} classes")


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV.")],
    preset: Annotated[str, typer.Option(help="small, cfpb113 or tiny.")] = "small",
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    scale: Annotated[float, typer.Option(help="Multiply every class size.")] = 1.0,
) -> None:
    """Write the built-in SYNTHETIC long-tail complaint data set (for demos and tests)."""
    from tailtune.data import synthesize

    frame = synthesize(preset, seed=seed, scale=scale)
    _write_frame_atomic(frame, out)
    console.print(
        f"wrote {out}: {len(frame):,} synthetic rows, {frame['label'].nunique()} classes "
        f"(preset {preset}, seed {seed})"
    )


# -- train / evaluate / predict --------------------------------------------------------------


@app.command("train")
def train_cmd(
    config: Annotated[
        Path | None, typer.Argument(help="YAML config (defaults if omitted).")
    ] = None,
    set_: SetOpt = None,
    recipe: Annotated[
        str | None,
        typer.Option(
            help="A shipped recipe instead of CONFIG: cpu-longtail, cpu-finetune (docs/training.md)."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Run name (default: config name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
) -> None:
    """Train a config and write a run directory (config, metrics, predictions, model)."""
    from tailtune.config import load_config, recipe_path
    from tailtune.errors import ConfigError
    from tailtune.workflow import train

    if recipe is not None:
        if config is not None:
            raise ConfigError("train: give a CONFIG file or --recipe, not both")
        config = recipe_path(recipe)
    cfg = load_config(config, set_)
    path = train(cfg, quiet=quiet, run_name=name, log=None if quiet else console.print)
    _print_run_summary(path)


@app.command("evaluate")
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
        _print_metrics_table({"eval": scored["metrics"]})


@app.command("predict")
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
        _write_frame_atomic(frame, output)
        console.print(f"wrote {output}: {len(frame):,} predictions")
        return
    table = Table("text", "prediction", "p")
    for row in frame.itertuples():
        table.add_row(row.text[:80], row.pred, f"{row.prob:.3f}")
    console.print(table)


# -- runs ------------------------------------------------------------------------------------


# -- quickstart ------------------------------------------------------------------------------


@app.command("quickstart")
def quickstart_cmd(
    runs_dir: Annotated[Path, typer.Option(help="Where the three runs go.")] = Path(
        "runs/quickstart"
    ),
    preset: Annotated[str, typer.Option(help="Synthetic preset: small or cfpb113.")] = "small",
    seed: Annotated[int, typer.Option(help="Data and model seed.")] = 42,
) -> None:
    """Train majority, TF-IDF and TF-IDF + sqrt-inverse weights on built-in SYNTHETIC data."""
    from tailtune.quickstart import run_quickstart

    results = run_quickstart(runs_dir=runs_dir, preset=preset, seed=seed, log=console.print)
    console.print(_comparison_table(results, title=f"Validation, synthetic '{preset}' preset"))
    console.print(
        "Accuracy falls and macro F1 rises with class weights: the long tail is traded for "
        "the head (seed 002's accuracy-macro-F1 trade-off). Runs are in "
        f"{runs_dir}; open one with `tailtune runs list {runs_dir}`."
    )


# -- printing helpers ------------------------------------------------------------------------


def _f(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _print_load_report(report: dict) -> None:
    """What loading did: rows read and every removed row (empty text/label), by line."""
    from tailtune.data import summary_lines

    for line in summary_lines(report):
        console.print(f"[yellow]load:[/] {line}", highlight=False)


def _print_report(title: str, report) -> None:
    import dataclasses

    if dataclasses.is_dataclass(report):
        report = dataclasses.asdict(report)
    text = json.dumps(report, default=str)
    console.print(f"[bold]{title}:[/] {text[:800]}")


def _print_stats(stats: dict) -> None:
    table = Table("statistic", "value", title="Class statistics")
    for key, value in stats.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=str)
        table.add_row(str(key), str(value))
    console.print(table)


def _print_metrics_table(by_split: dict) -> None:
    table = Table("split", "accuracy", "macro F1", "weighted F1", "bal. acc.", "zero-F1", "classes")
    for split, m in by_split.items():
        table.add_row(
            split,
            _f(m["accuracy"]),
            _f(m["macro_f1"]),
            _f(m["weighted_f1"]),
            _f(m["balanced_accuracy"]),
            str(m["zero_f1"]),
            str(m["n_classes"]),
        )
    console.print(table)


def _print_run_summary(path: Path) -> None:
    from tailtune.runs import read_run

    run = read_run(path)
    _print_metrics_table({k: v for k, v in run.metrics.items() if k in ("val", "test")})
    console.print(f"run: {path}")


def _comparison_table(results: list[dict], title: str) -> Table:
    table = Table(title=title)
    # short headers that break at spaces, so that 80 columns show every word (no "accur…")
    for col in ("run", "acc.", "macro F1", "zero F1", "head F1", "mid F1", "tail F1", "fit s"):
        table.add_column(col, justify="left" if col == "run" else "right", no_wrap=col == "run")
    for r in results:
        m = r["metrics"]["val"]
        tiers = m.get("tiers", {})
        table.add_row(
            r["label"],
            _f(m["accuracy"]),
            _f(m["macro_f1"]),
            f"{m['zero_f1']}/{m['n_classes']}",
            *(_f(tiers.get(t, {}).get("mean_f1")) for t in ("head", "mid", "tail")),
            f"{r['metrics']['timing']['fit_s']:.1f}",
        )
    return table


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


def _write_frame_atomic(frame, out: Path) -> None:
    import os

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, out)


def main() -> None:
    """Console entry point: user errors become one line and exit code 1."""
    try:
        app()
    except TailtuneError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


# The commands that read run directories, the experiments and the calculators live in their
# own module to keep this one short; importing it registers them on `app`.
from tailtune import cli_more  # noqa: E402,F401

if __name__ == "__main__":
    main()

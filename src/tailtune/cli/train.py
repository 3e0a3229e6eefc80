"""``tailtune quickstart``, ``train``, ``evaluate`` and ``predict``: make runs and use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tailtune.cli._common import (
    ConfigArg,
    JsonOpt,
    RecipeOpt,
    RunArg,
    SetOpt,
    command,
    resolve_config,
    write_frame_atomic,
)
from tailtune.cli._print import (
    comparison_table,
    console,
    err_console,
    print_metrics_table,
    print_run_summary,
)
from tailtune.errors import TailtuneError

app = typer.Typer()


@command(app, "quickstart", "Three runs on synthetic data that show the long-tail trade-off.")
def quickstart_cmd(
    runs_dir: Annotated[Path, typer.Option(help="Where the three runs go.")] = Path(
        "runs/quickstart"
    ),
    preset: Annotated[str, typer.Option(help="Synthetic preset: small or cfpb113.")] = "small",
    seed: Annotated[int, typer.Option(help="Data and model seed.")] = 42,
) -> None:
    """Train majority, TF-IDF and TF-IDF + sqrt-inverse weights on built-in SYNTHETIC data.

    Examples:
    tailtune quickstart
    tailtune quickstart --preset cfpb113 --runs-dir runs/qs-cfpb
    """
    from tailtune.quickstart import run_quickstart

    results = run_quickstart(runs_dir=runs_dir, preset=preset, seed=seed, log=_bold)
    console.print(comparison_table(results, title=f"Validation, synthetic '{preset}' preset"))
    console.print(
        "Accuracy falls and macro F1 rises with class weights: the head is traded for "
        "the long tail (the accuracy-macro-F1 trade-off of class re-weighting, Cui et al. 2019). "
        f"Runs are in {runs_dir}; open one with `tailtune runs list {runs_dir}`."
    )


@command(app, "train", "Train a config and write a run directory.")
def train_cmd(
    config: ConfigArg = None,
    set_: SetOpt = None,
    recipe: RecipeOpt = None,
    name: Annotated[str | None, typer.Option(help="Run name (default: config name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Continue an unfinished run: its folder (runs/.tmp-…, runs/.interrupted-…) "
            "or its name (the newest unfinished folder of that name).",
        ),
    ] = None,
    runs_dir: Annotated[
        Path | None, typer.Option(help="Runs folder searched by --resume NAME (default: runs).")
    ] = None,
) -> None:
    """Train a config and write a run directory (config, metrics, predictions, model).

    With --resume, training continues from the newest complete checkpoint of an unfinished run
    (killed, interrupted or crashed), with the config that run recorded when it started.

    Examples:
    tailtune train configs/cfpb-tfidf.yaml
    tailtune train --recipe cpu-longtail --set data.path=complaints.csv
    tailtune train configs/atis-minilm-encoder.yaml --set train.lr=3e-5
    tailtune train --resume runs/.tmp-atis-minilm-encoder-20261201-101500-4242
    tailtune train --resume atis-minilm-encoder
    """
    from tailtune.workflow import resume as resume_run
    from tailtune.workflow import train

    log = None if quiet else console.print
    if resume is not None:
        if config is not None or recipe is not None or set_ or name is not None:
            raise typer.BadParameter(
                "--resume continues a run with the config it recorded; "
                "give no CONFIG, --recipe, --set or --name with it"
            )
        path = resume_run(resume, runs_dir=runs_dir, quiet=quiet, log=log)
    else:
        cfg = resolve_config(config, recipe, set_, what="train")
        path = train(cfg, quiet=quiet, run_name=name, log=log)
    from tailtune.training.distributed import is_main_process

    if is_main_process():  # under torchrun, one summary (rank 0's), not one per process
        print_run_summary(path)
        _print_backend_summary(path)


@command(app, "evaluate", "Score a run (or its checkpoints) on a labelled file or split.")
def evaluate_cmd(
    run: RunArg,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Labelled file to score; with --split, where a moved run's data file is now.",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Score the run's own val or test split instead of a file."),
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="Score a kept checkpoint: step-N, best, final (the run's model) or all.",
        ),
    ] = None,
    promote: Annotated[
        str | None,
        typer.Option(
            "--promote",
            help="Make checkpoint step-N (or best) the run's model and rescore its splits.",
        ),
    ] = None,
    set_: SetOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the evaluation (JSON) here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a trained run on another labelled file, or its checkpoints on a split or a file.

    With --data the run's data options apply to the one file (a per-file skip_rows list becomes
    one number); change any of them with --set data.FIELD=VALUE. Labels the run never trained
    on are counted as misses, named in a warning and recorded in the output.

    --checkpoint scores the checkpoints a neural run kept (train.keep_checkpoints sets how many)
    on --data FILE or --split val|test (default: val; choosing on test makes its score
    optimistic) and marks the best. --promote makes one the run's model: the previous model is
    kept beside it, and metrics.json records the promotion.

    Examples:
    tailtune evaluate runs/tfidf-20261201-101500 --data data/test.csv
    tailtune evaluate runs/tfidf-20261201-101500 --data new.csv --set data.skip_rows=2
    tailtune evaluate runs/tfidf-20261201-101500 --data data/test.csv --output eval.json
    tailtune evaluate runs/lora-20261201-101500 --checkpoint all
    tailtune evaluate runs/lora-20261201-101500 --checkpoint step-30 --split test
    tailtune evaluate runs/lora-20261201-101500 --promote step-30
    """
    from tailtune.workflow.apply import check_output_path

    check_output_path(output)
    if promote is not None:
        if data is not None or split is not None or checkpoint is not None:
            raise typer.BadParameter("--promote takes no --data, --split or --checkpoint")
        _promote(run, promote, output, as_json)
        return
    if checkpoint is not None or split is not None:
        _evaluate_checkpoints(run, checkpoint or "final", data, split, set_, output, as_json)
        return
    if data is None:
        raise typer.BadParameter("give --data FILE, --split val|test, --checkpoint or --promote")
    from tailtune.workflow.apply import evaluate_file

    scored = evaluate_file(run, data, set_, say=_warn)
    record = _evaluation_record(run, data, scored)
    if output is not None:
        _write_json_atomic(record, output)
    if as_json:
        console.print_json(json.dumps(record, default=str))
    else:
        from tailtune.report.hierarchy import print_hierarchy

        print_metrics_table({"eval": scored["metrics"]})
        print_hierarchy(scored["metrics"].get("hierarchy"), console, "eval")  # labels = paths
    if output is not None:
        console.print(f"wrote {output}")


def _evaluate_checkpoints(run, which, data, split, set_, output, as_json) -> None:
    from tailtune.workflow.checkpoints import evaluate_checkpoints

    result = evaluate_checkpoints(run, which, split=split, data=data, overrides=set_, say=_warn)
    if output is not None:
        _write_json_atomic(result, output)
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        console.print(_checkpoint_table(result))
    if output is not None:
        console.print(f"wrote {output}")


def _checkpoint_table(result: dict) -> Table:
    """One row per checkpoint; the best on this data is marked, and the one training chose."""
    from tailtune.cli._print import fmt

    table = Table(
        title=f"Checkpoints of {Path(result['run']).name} on {result['evaluated_on']}",
        caption="best = the checkpoint early stopping kept (on validation); final = the run's "
        "model; highest = the highest macro F1 here, among rows not trained on these rows",
    )
    for col in ("checkpoint", "step", "acc.", "macro F1", "zero F1", "head F1", "mid F1",
                "tail F1", ""):  # fmt: skip
        table.add_column(
            col,
            justify="left" if col in ("checkpoint", "") else "right",
            no_wrap=col in ("checkpoint", ""),
        )
    for row in result["rows"]:
        m = row["metrics"]
        tiers = m.get("tiers", {})
        marks = []
        if row.get("in_sample"):
            marks.append("in-sample: trained on these rows, not ranked")
        elif row["checkpoint"] == result["highest"] and len(result["rows"]) > 1:
            marks.append("◀ highest")
        if row["checkpoint"] == "best":
            marks.append("kept by early stopping")
        table.add_row(
            row["checkpoint"],
            "" if row["step"] is None else str(row["step"]),
            fmt(m["accuracy"]),
            fmt(m["macro_f1"]),
            f"{m['zero_f1']}/{m['n_classes']}",
            *(fmt(tiers.get(t, {}).get("mean_f1")) for t in ("head", "mid", "tail")),
            "; ".join(x for x in marks if x),
        )
    return table


def _promote(run, which, output, as_json) -> None:
    from tailtune.workflow.checkpoints import promote

    result = promote(run, which, say=lambda line: console.print(Text(line)))
    if output is not None:
        _write_json_atomic(result, output)
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        print_metrics_table(result["metrics"])


@command(app, "predict", "Predict labels for texts given inline or in a file.")
def predict_cmd(
    run: RunArg,
    text: Annotated[
        list[str] | None, typer.Option("--text", help="A text to classify (repeatable).")
    ] = None,
    input_: Annotated[
        Path | None,
        typer.Option("--input", help="CSV, TSV, JSONL, Parquet or .txt (one text a line)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write predictions CSV here.")
    ] = None,
    text_col: Annotated[
        list[str] | None,
        typer.Option("--text-col", help="Text column(s) of --input (default: the run's)."),
    ] = None,
    set_: SetOpt = None,
    top_k: Annotated[int, typer.Option(help="Probabilities to keep per text.")] = 3,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --output.")] = False,
) -> None:
    """Predict labels for texts given inline or in a file read with the run's data options.

    Examples:
    tailtune predict runs/tfidf-20261201-101500 --text "card charged twice"
    tailtune predict runs/tfidf-20261201-101500 --input new.csv --output p.csv
    tailtune predict runs/tfidf-20261201-101500 --input notes.txt --output p.csv
    """
    from tailtune.cli._options import check_int, check_output
    from tailtune.workflow import predict
    from tailtune.workflow.apply import predict_file

    check_int("--top-k", top_k, 1)
    check_output("--output", output, inputs=[input_], force=force)
    if text is None and input_ is None:
        raise TailtuneError("predict: give --text or --input")
    if set_ and input_ is None:
        # one rule for --set with a trained run: data.* fields, for reading a new file
        from tailtune.workflow.apply import file_data_options

        file_data_options({}, set_)  # a non-data field: the same error as with --input
        raise TailtuneError("predict: --set data.* reads an --input file; --text reads none")
    if input_ is not None:
        if text:
            raise TailtuneError("predict: give --text or --input, not both")
        frame = predict_file(run, input_, set_, text_columns=text_col, top_k=top_k, say=_warn)
    else:
        frame = predict(run, list(text or []), top_k=top_k)
    if output is not None:
        write_frame_atomic(frame, output)
        console.print(f"wrote {output}: {len(frame):,} predictions")
        return
    if "answer" in frame:  # a hierarchy: the path, the back-off answer, each level's p
        table = Table("text", "path", "answer", "p per level")
        for row in frame.itertuples():
            levels = ", ".join(f"{k} {v:.3f}" for k, v in json.loads(row.level_proba).items())
            table.add_row(Text(row.text[:60]), Text(str(row.pred)), Text(row.answer), levels)
        console.print(table)
        return
    table = Table("text", "prediction", "p")
    for row in frame.itertuples():
        table.add_row(Text(row.text[:80]), Text(str(row.pred)), f"{row.prob:.3f}")
    console.print(table)


def _print_backend_summary(path: Path) -> None:
    """The lines the run's backend gives about itself (a cascade's four figures, say)."""
    from tailtune.backends import BACKENDS, backend_class
    from tailtune.runs import read_run

    metrics = read_run(path).metrics
    name = metrics.get("backend")
    # validation figures are the selection model's: a refit model was fitted without an eval set
    info = (metrics.get("refit") or {}).get("selection_info") or metrics.get("info")
    lines = backend_class(name).summary_lines(info) if name in BACKENDS else []
    for i, line in enumerate(lines):
        console.print(Text(line, style="bold" if i == 0 else ""))


def _warn(line: str) -> None:
    # on stderr, so that --json output and a predictions table stay parseable
    err_console.print(Text(line, style="yellow"), soft_wrap=True)


def _evaluation_record(run: Path, data: Path, scored: dict) -> dict:
    return {
        "run": str(run),
        "data": str(data),
        "data_options": scored["data_options"],
        "metrics": scored["metrics"],
        "unseen_labels": scored["unseen"],
        "notes": scored["notes"],
    }


def _write_json_atomic(record: dict, out: Path) -> None:
    from tailtune._atomic import write_text

    write_text(out, json.dumps(record, indent=2, default=str) + "\n")


def _bold(label: str) -> None:
    console.print(Text(label, style="bold"))

"""CLI commands that read run directories (diagnose, noise, errors, report, runs, experiment)
and the calculators. Registered on the app of :mod:`tailtune.cli`; each command is thin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tailtune.cli import JsonOpt, app, console, runs_app
from tailtune.errors import TailtuneError

experiment_app = typer.Typer(help="Controlled experiments, seeds and grids.", no_args_is_help=True)
calc_app = typer.Typer(
    help="LoRA parameter, training-step and token calculators.", no_args_is_help=True
)
app.add_typer(experiment_app, name="experiment")
app.add_typer(calc_app, name="calc")

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder holding the runs and index.db.")]

# -- analysis of run directories ---------------------------------------------------------------


@app.command("diagnose")
def diagnose_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Run directories or CSV/JSON training logs.")],
    classes: Annotated[
        int | None, typer.Option("--classes", help="K, for logs without it.")
    ] = None,
) -> None:
    """Read training curves: undertrained, well-trained, overtrained, data-starved, not learning."""
    from tailtune.evaluation.diagnose import diagnose_many
    from tailtune.report import print_comparison, print_diagnosis

    kwargs = {"n_classes": classes} if classes else {}
    results, flags = diagnose_many(paths, **kwargs)
    for name, diagnosis, error in results:
        if diagnosis is not None:
            print_diagnosis(diagnosis, name=name, console=console)
        else:
            console.print(f"[yellow]{name}[/]: {error}")
    if len(paths) > 1:
        print_comparison(flags, console)
    if all(d is None for _, d, _ in results) and not flags:
        raise TailtuneError("diagnose: nothing could be diagnosed (see the lines above)")


@app.command("noise")
def noise_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    against: Annotated[Path | None, typer.Option(help="Second run for a paired bootstrap.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Validation noise floor: support per class, bootstrap CIs, minimum detectable difference."""
    from tailtune.evaluation.noise import noise_report
    from tailtune.report import print_noise

    rep = noise_report(run, against=against, n_boot=n_boot, seed=seed)
    if as_json:
        console.print_json(json.dumps(rep.to_dict(), default=str))
    else:
        print_noise(rep, console)


@app.command("errors")
def errors_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    top: Annotated[int, typer.Option(help="Confused pairs to show.")] = 10,
    hard: Annotated[int, typer.Option(help="Most confident mistakes to show.")] = 5,
    issues: Annotated[bool, typer.Option(help="Rank likely label issues with cleanlab.")] = False,
    confusion_csv: Annotated[
        Path | None, typer.Option("--confusion-csv", help="Write the full confusion matrix here.")
    ] = None,
) -> None:
    """Error analysis: confused pairs, where tail errors land, hardest mistakes, per-tier F1."""
    from tailtune.evaluation.errors import error_report
    from tailtune.report import print_errors

    rep = error_report(run, top=top, n_hard=hard, issues=issues)
    print_errors(rep, console)
    if confusion_csv is not None:
        rep.write_confusion_csv(confusion_csv)
        console.print(f"wrote {confusion_csv}")


@app.command("report")
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run directories; the first is the baseline.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
) -> None:
    """One self-contained HTML report (works offline) for one run or a comparison of several."""
    from tailtune.report import build_report

    path = build_report(runs, out, title=title, n_boot=n_boot)
    console.print(f"wrote {path}")


# -- the run index -------------------------------------------------------------------------------


def _print_frame(frame, title: str | None = None) -> None:
    table = Table(title=title)
    for col in frame.columns:
        # a path is copied, not read: fold it onto several lines rather than cut it with "…"
        table.add_column(str(col), overflow="fold" if col in ("run_dir", "data_path") else None)
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v, str(c)) for v, c in zip(row, frame.columns, strict=True)))
    console.print(table)


def _cell(v, col: str = "") -> str:
    if v is None or (isinstance(v, float) and v != v):  # None or NaN: an empty cell
        return ""
    if isinstance(v, float):
        if col in _INT_COLUMNS and v.is_integer():
            return str(int(v))
        return f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"
    return str(v)


# Columns that hold counts (stored as floats where a run lacks them) and the ones a narrow
# terminal keeps, so that `runs list` stays readable at 80 columns (`--json` has everything).
_INT_COLUMNS = {"seed", "zero_f1", "train_size"}
_NARROW_COLUMNS = ["name", "backend", "status", "macro_f1", "zero_f1", "run_dir"]


@runs_app.command("list")
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
        _print_frame(frame, title=title)


@runs_app.command("show")
def runs_show(
    ref: Annotated[str, typer.Argument(help="Run directory, name or config-hash prefix.")],
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Everything the index holds about one run."""
    from tailtune.runs import show_run

    console.print_json(json.dumps(show_run(runs_dir, ref), default=str))


@runs_app.command("compare")
def runs_compare(
    refs: Annotated[list[str], typer.Argument(help="Two or more runs.")],
    runs_dir: RunsDir = Path("runs"),
    all_fields: Annotated[bool, typer.Option("--all", help="Show every config field.")] = False,
) -> None:
    """Metrics, per-tier F1 and the config fields that differ, side by side."""
    from tailtune.runs import compare_runs

    _print_frame(compare_runs(runs_dir, refs, all_fields=all_fields).reset_index())


@runs_app.command("reindex")
def runs_reindex(
    runs_dir: Annotated[Path, typer.Argument(help="Runs folder.")] = Path("runs"),
) -> None:
    """Rebuild runs/index.db from the run directories."""
    from tailtune.runs import rebuild_index

    console.print(f"rebuilt {rebuild_index(runs_dir)}")


# -- experiments -----------------------------------------------------------------------------


@experiment_app.command("run")
def experiment_run(
    file: Annotated[Path, typer.Argument(help="Experiment YAML (one varied field, or a grid).")],
    executor: Annotated[str | None, typer.Option(help="sequential, processes or ray.")] = None,
    workers: Annotated[int | None, typer.Option(help="Parallel runs (processes executor).")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Existing Ray cluster address.")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Override the runs folder.")] = None,
) -> None:
    """Run or resume an experiment; finished runs are skipped, failed ones retried."""
    from tailtune.experiments import run_experiment

    result = run_experiment(
        file, executor=executor, workers=workers, ray_address=ray_address, runs_dir=runs_dir,
        log=console.print,
    )  # fmt: skip
    record = result.dir / "record.md"
    if record.is_file():
        console.print(record.read_text(encoding="utf-8"))
    console.print(
        f"{len(result.executed)} run(s) trained, {len(result.skipped)} already finished, "
        f"{len(result.failed)} failed, {result.wall_s:.0f} s; results in {result.dir}"
    )
    if result.failed:
        raise TailtuneError(f"{len(result.failed)} run(s) failed; re-run the command to retry them")


@experiment_app.command("show")
def experiment_show(exp_dir: Annotated[Path, typer.Argument(help="Experiment folder.")]) -> None:
    """Print an experiment's record (variable, held constant, prediction, result, meaningful)."""
    from tailtune.experiments import show_experiment

    console.print(show_experiment(exp_dir)["markdown"])


# -- calculators -----------------------------------------------------------------------------


def _rows_table(rows, header: bool = True, title: str | None = None) -> None:
    rows = list(rows)
    table = Table(*rows[0], title=title) if header else Table(show_header=False, title=title)
    if not header:
        for _ in rows[0]:
            table.add_column()
    for row in rows[1:] if header else rows:
        table.add_row(*map(str, row))
    console.print(table)


@calc_app.command("lora")
def calc_lora(
    model: Annotated[
        str, typer.Option(help="transformers name/dir, config.json, .gguf or smollm2.")
    ],
    rank: Annotated[int, typer.Option(help="LoRA rank r.")] = 16,
    targets: Annotated[
        str, typer.Option(help="attention, all-linear, or module names a,b,c.")
    ] = "attention",
    num_labels: Annotated[int | None, typer.Option(help="Classes of the head.")] = None,
) -> None:
    """Exact LoRA trainable parameters per module type, per layer and in total (meta device)."""
    from tailtune.calc import format_lora, lora_params

    tgt = targets if targets in ("attention", "all-linear", "qv") else targets.split(",")
    rep = lora_params(model, rank, tgt, num_labels)
    _rows_table(format_lora(rep), title=f"LoRA r={rank} on {model}")
    console.print(
        f"seed 001's shortcut (2·d_model·r per module) gives {rep.shortcut_total:,}: {rep.why_differ}"
    )


@calc_app.command("steps")
def calc_steps(
    samples: Annotated[int, typer.Option(help="Training examples.")],
    batch: Annotated[int, typer.Option(help="Per-device batch size.")],
    grad_accum: Annotated[int, typer.Option(help="Gradient accumulation steps.")] = 1,
    gpus: Annotated[int, typer.Option(help="Devices (processes).")] = 1,
    epochs: Annotated[float, typer.Option(help="Epochs.")] = 1.0,
) -> None:
    """Effective batch, optimizer steps per epoch and in total."""
    from tailtune.calc import format_steps, training_steps

    plan = training_steps(samples, batch, grad_accum=grad_accum, gpus=gpus, epochs=epochs)
    _rows_table(format_steps(plan), header=False, title="training steps")


@calc_app.command("tokens")
def calc_tokens(
    data: Annotated[Path, typer.Argument(help="Data file (read like `data stats`).")],
    model: Annotated[str, typer.Option(help="Tokenizer: transformers name/dir or minilm/smollm2.")],
    text_col: Annotated[list[str] | None, typer.Option("--text-col", help="Text column.")] = None,
    label_col: Annotated[
        list[str] | None, typer.Option("--label-col", help="Label column.")
    ] = None,
    skip_rows: Annotated[int, typer.Option(help="Leading lines to skip.")] = 0,
    max_length: Annotated[int | None, typer.Option(help="Report the share truncated here.")] = None,
    rank: Annotated[int | None, typer.Option(help="LoRA rank, for the param:token ratio.")] = None,
    targets: Annotated[str, typer.Option(help="LoRA targets for the ratio.")] = "attention",
) -> None:
    """Token statistics of a data set under a tokenizer, and seed 001's param:token ratio."""
    from tailtune.calc import format_tokens, lora_params, token_stats
    from tailtune.cli import _data_config, _load

    cfg = _data_config(None, text_col, label_col, skip_rows, "auto", "utf-8")
    frame, _ = _load(cfg, [data])
    trainable = None
    if rank is not None:
        tgt = targets if targets in ("attention", "all-linear", "qv") else targets.split(",")
        trainable = lora_params(model, rank, tgt, frame["label"].nunique()).trainable_total
    stats = token_stats(frame["text"].tolist(), model, max_length, trainable_params=trainable)
    _rows_table(format_tokens(stats), header=False, title=f"tokens under {model}")

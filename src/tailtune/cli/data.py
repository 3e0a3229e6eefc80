"""``tailtune data``: inspect, split, subset and synthesize labelled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tailtune.cli._common import (
    JsonOpt,
    command,
    load_data,
    reads_data,
    write_frame_atomic,
)
from tailtune.cli._print import console, print_load_report, print_report

app = typer.Typer(help="Inspect, split and subset labelled data.", no_args_is_help=True)


@command(app, "stats", "Class sizes, imbalance, rare classes and frequency tiers.")
@reads_data
def data_stats(
    path: Annotated[list[Path], typer.Argument(help="Data file(s): csv, tsv, jsonl, parquet.")],
    head_min: Annotated[
        int | None,
        typer.Option(
            help="Head tier: at least this many examples (as eval.head_min).", show_default="auto"
        ),
    ] = None,
    tail_max: Annotated[
        int | None,
        typer.Option(
            help="Tail tier: fewer than this many examples (as eval.tail_max).", show_default="auto"
        ),
    ] = None,
    cfg=None,  # from the reading options @reads_data adds
    as_json: JsonOpt = False,
) -> None:
    """Class statistics: sizes, imbalance, classes under 20/100, frequency tiers (and the same per
    level, with children per parent, when data.hierarchy is true).

    Examples:
    tailtune data stats complaints.csv --text-col narrative --label-col product
    tailtune data stats train.jsonl --head-min 500 --tail-max 20 --json
    tailtune data stats complaints.csv --label-col Product --label-col Issue
      --set data.hierarchy=true
    tailtune data stats train.tsv --label-col labels --set data.multi_label=sets
      --set data.multi_label_separator=,
    """
    from tailtune._settings import from_kwargs
    from tailtune.config import EvalSettings
    from tailtune.data import class_stats

    tiers = from_kwargs(EvalSettings, {"head_min": head_min, "tail_max": tail_max})
    frame, report = load_data(cfg, path)
    if cfg.data.multi_label == "sets":
        _print_set_stats(cfg.data, frame, report, tiers, as_json)
        return
    stats = class_stats(frame["label"], head_min=tiers.head_min, tail_max=tiers.tail_max)
    levels = _level_stats(
        cfg.data, frame["label"], head_min=tiers.head_min, tail_max=tiers.tail_max
    )
    if as_json:
        out = {"load": report, "stats": stats, **({"levels": levels} if levels else {})}
        console.print_json(json.dumps(out, default=str))
        return
    print_load_report(report)
    _print_stats(stats)
    if levels:
        _print_levels(levels)


@command(app, "split", "Seeded stratified split that keeps rare classes.")
@reads_data
def data_split(
    path: Annotated[list[Path], typer.Argument(help="Data file(s) to split.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for train/val/test.csv.")],
    val: Annotated[float, typer.Option(help="Validation share (0-1) or count.")] = 0.1,
    test: Annotated[float, typer.Option(help="Test share (0-1) or count; 0 = none.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Split seed.")] = 42,
    min_class_size: Annotated[int, typer.Option(help="Drop (and list) smaller classes.")] = 1,
    drop_duplicates: Annotated[bool, typer.Option(help="Remove exact duplicates.")] = False,
    cfg=None,  # from the reading options @reads_data adds
) -> None:
    """Seeded stratified split that survives rare classes; same seed, byte-identical files.

    Examples:
    tailtune data split complaints.csv -o data/split --val 0.1 --test 0.1
    tailtune data split a.csv b.csv -o split --min-class-size 2 --drop-duplicates
    """
    from tailtune.data import clean, split_frame, write_split

    frame, report = load_data(cfg, path)
    print_load_report(report)
    frame, clean_report = clean(
        frame, drop_duplicates=drop_duplicates, min_class_size=min_class_size
    )
    print_report("clean", clean_report)
    if cfg.data.multi_label == "sets":  # iterative stratification of label sets
        from tailtune.data.split_sets import split_sets

        result = split_sets(frame, cfg.data.multi_label_separator, val=val, test=test, seed=seed)
    else:
        result = split_frame(frame, val=val, test=test, seed=seed)
    written = write_split(result, out)
    print_report("split", result.report)
    for p in written:
        console.print(f"wrote {p}")


@command(app, "subset", "Top-K labels x N per class, or a stratified subsample.")
@reads_data
def data_subset(
    path: Annotated[list[Path], typer.Argument(help="Data file(s).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV.")],
    labels: Annotated[
        str | None, typer.Option(help="Top-K labels (a number) or names separated by commas.")
    ] = None,
    per_class: Annotated[int | None, typer.Option(help="Examples per class (balanced).")] = None,
    rows: Annotated[int | None, typer.Option(help="Stratified subsample of N rows.")] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 42,
    cfg=None,  # from the reading options @reads_data adds
) -> None:
    """Top-K labels x N per class (a label-count x data-size grid), or a stratified subsample.

    Examples:
    tailtune data subset train.csv -o top8x200.csv --labels 8 --per-class 200
    tailtune data subset train.csv -o small.csv --rows 2000 --seed 1
    """
    from tailtune.data import stratified_subsample, subset_labels

    if cfg.data.multi_label == "sets":
        from tailtune.errors import ConfigError

        raise ConfigError("data subset: counts classes, not labels inside sets; not available "
                          "with data.multi_label: sets")  # fmt: skip
    frame, _ = load_data(cfg, path)
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
    write_frame_atomic(frame, out)
    console.print(f"wrote {out}: {len(frame):,} rows, {frame['label'].nunique()} classes")


@command(app, "synth", "Write the built-in SYNTHETIC long-tail data set.")
def data_synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV.")],
    preset: Annotated[str, typer.Option(help="small, cfpb113 or tiny.")] = "small",
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    scale: Annotated[float, typer.Option(help="Multiply every class size.")] = 1.0,
) -> None:
    """Write the built-in SYNTHETIC long-tail complaint data set (for demos and tests).

    Examples:
    tailtune data synth -o demo.csv
    tailtune data synth -o big.csv --preset cfpb113 --scale 0.5 --seed 1
    """
    from tailtune.data import synthesize

    frame = synthesize(preset, seed=seed, scale=scale)
    write_frame_atomic(frame, out)
    console.print(
        f"wrote {out}: {len(frame):,} synthetic rows, {frame['label'].nunique()} classes "
        f"(preset {preset}, seed {seed})"
    )


def _print_set_stats(data, frame, report, tiers, as_json: bool) -> None:
    """``data stats`` of label sets: per label frequency and tier, labels per text, pairs."""
    from tailtune.data.labelsets import parse_sets, set_stats

    sets = parse_sets(frame["label"], data.multi_label_separator)
    stats = set_stats(sets, head_min=tiers.head_min, tail_max=tiers.tail_max)
    if as_json:
        console.print_json(json.dumps({"load": report, "stats": stats}, default=str))
        return
    print_load_report(report)
    skip = ("counts", "label_tiers", "pairs")
    _print_stats({k: v for k, v in stats.items() if k not in skip})
    table = Table("label", "texts", "tier", title="Labels (texts carrying each)")
    for label, n in stats.get("counts", {}).items():
        table.add_row(label, f"{n:,}", stats["label_tiers"].get(label, ""))
    console.print(table)
    pairs = Table("labels", "texts together", "jaccard", title="Most frequent label pairs")
    for p in stats.get("pairs", []):
        pairs.add_row(" + ".join(p["labels"]), f"{p['count']:,}", f"{p['jaccard']:.3f}")
    console.print(pairs)


def _print_stats(stats: dict) -> None:
    table = Table("statistic", "value", title="Class statistics")
    for key, value in stats.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=str)
        table.add_row(str(key), str(value))
    console.print(table)


def _level_stats(data, labels, **tiers) -> list[dict] | None:
    """Per-level statistics when the labels are paths (data.hierarchy), else None."""
    from tailtune.data import level_stats
    from tailtune.workflow.prepare import build_hierarchy

    tree = build_hierarchy(data, labels, where="data")
    return None if tree is None else level_stats(labels, tree, **tiers)


def _print_levels(levels: list[dict]) -> None:
    table = Table(
        "level", "classes", "rows", "largest", "< 20", "head/mid/tail", "children min/med/max",
        "leaves", "repeated names", title="Per level (a node is its whole path)",
    )  # fmt: skip
    for s in levels:
        fan = s["children_per_parent"]
        tiers = "/".join(str(s["tiers"][t]["classes"]) for t in ("head", "mid", "tail"))
        table.add_row(
            s["level"], str(s["classes"]), f"{s['rows']:,}", str(s["largest"]["count"]),
            str(s["classes_under_20"]), tiers,
            "-" if fan is None else f"{fan['min']}/{fan['median']:g}/{fan['max']}",
            str(s["leaves"]), str(s["names_under_several_parents"]),
        )  # fmt: skip
    console.print(table)

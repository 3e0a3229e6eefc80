"""``tailtune diagnose``, ``noise``, ``errors`` and ``report``: read run directories, never train."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tailtune.cli._common import JsonOpt, RunArg, command
from tailtune.cli._print import console, styled
from tailtune.errors import TailtuneError

app = typer.Typer()


SplitOpt = Annotated[
    str | None,
    typer.Option(
        "--split",
        help="Split to analyse: val or test (default: test when the run has it, else val).",
    ),
]


@command(app, "diagnose", "Read training curves: under-, well-, over-trained, data-starved.")
def diagnose_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Run directories or CSV/JSON training logs.")],
    classes: Annotated[
        int | None, typer.Option("--classes", help="K, for logs without it.")
    ] = None,
    split: SplitOpt = None,
) -> None:
    """Read training curves: undertrained, well-trained, overtrained, data-starved, not learning.

    A run's curves are validation curves of the selection phase; the chosen split's final
    figures (test: the refit model's, when the run refit) are printed beside them.

    Examples:
    tailtune diagnose runs/tfidf-20261201-101500
    tailtune diagnose runs/tfidf-20261201-101500 runs/sqrt-20261201-102200
    tailtune diagnose runs/tfidf-20261201-101500 --split val
    tailtune diagnose trainer_log.csv --classes 113
    """
    from tailtune.evaluation.diagnose import diagnose_many
    from tailtune.report import print_comparison, print_diagnosis

    kwargs = {"n_classes": classes} if classes else {}
    results, flags = diagnose_many(paths, split=split, **kwargs)
    for name, diagnosis, error in results:
        if diagnosis is not None:
            print_diagnosis(diagnosis, name=name, console=console)
        else:
            console.print(styled((str(name), "yellow"), f": {error}"))
    if len(paths) > 1:
        print_comparison(flags, console)
    if all(d is None for _, d, _ in results) and not flags:
        raise TailtuneError("diagnose: nothing could be diagnosed (see the lines above)")


@command(app, "noise", "Noise floor of a split: bootstrap CIs, detectable difference.")
def noise_cmd(
    run: RunArg,
    against: Annotated[Path | None, typer.Option(help="Second run for a paired bootstrap.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    split: SplitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Noise floor of a split: support per class, bootstrap CIs, minimum detectable difference.

    With --against, both runs are paired on the split they share (test first); their
    predictions on it must be on the same examples.

    Examples:
    tailtune noise runs/tfidf-20261201-101500
    tailtune noise runs/tfidf-20261201-101500 --split val
    tailtune noise runs/tfidf-20261201-101500 --against runs/sqrt-20261201-102200
    """
    from tailtune.cli._options import BOOT_MAX, check_int
    from tailtune.evaluation.noise import noise_report
    from tailtune.report import print_noise

    check_int("--n-boot", n_boot, 2, BOOT_MAX)
    check_int("--seed", seed, 0, 2**32 - 1)
    rep = noise_report(run, against=against, split=split, n_boot=n_boot, seed=seed)
    if as_json:
        console.print_json(json.dumps(rep.to_dict(), default=str))
    else:
        print_noise(rep, console)


@command(app, "errors", "Error analysis: confused pairs, tail errors, hardest mistakes.")
def errors_cmd(
    run: RunArg,
    split: SplitOpt = None,
    top: Annotated[int, typer.Option(help="Confused pairs to show.")] = 10,
    hard: Annotated[int, typer.Option(help="Most confident mistakes to show.")] = 5,
    issues: Annotated[bool, typer.Option(help="Rank likely label issues with cleanlab.")] = False,
    confusion_csv: Annotated[
        Path | None, typer.Option("--confusion-csv", help="Write the full confusion matrix here.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --confusion-csv.")
    ] = False,
) -> None:
    """Error analysis: confused pairs, where tail errors land, hardest mistakes, per-tier F1.

    Examples:
    tailtune errors runs/tfidf-20261201-101500
    tailtune errors runs/tfidf-20261201-101500 --split val
    tailtune errors runs/tfidf-20261201-101500 --top 20 --confusion-csv c.csv
    """
    from tailtune.cli._options import check_int, check_output
    from tailtune.evaluation.errors import error_report
    from tailtune.report import print_errors

    check_int("--top", top, 1)
    check_int("--hard", hard, 0)
    check_output("--confusion-csv", confusion_csv, force=force)
    rep = error_report(run, split=split, top=top, n_hard=hard, issues=issues)
    print_errors(rep, console)
    from tailtune.report.hierarchy import print_hierarchy
    from tailtune.runs import read_run

    # labels that are paths: per level, and whether a mistake stayed under the right parent
    print_hierarchy(read_run(run).metrics.get(rep.split, {}).get("hierarchy"), console, rep.split)
    if confusion_csv is not None:
        rep.write_confusion_csv(confusion_csv)
        console.print(f"wrote {confusion_csv}")


@command(app, "report", "A self-contained HTML report of one run or several.")
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run directories; the first is the baseline.")],
    split: SplitOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing report.")] = False,
) -> None:
    """One self-contained HTML report (works offline) for one run or a comparison of several.

    The headline shows validation and test side by side when a run has both; the per-class
    and error sections read --split (default: test when present); several runs are compared
    on the split they share.

    Examples:
    tailtune report runs/tfidf-20261201-101500 -o cfpb.html --title "CFPB TF-IDF"
    tailtune report runs/tfidf-20261201-101500 --split val
    tailtune report runs/tfidf-20261201-101500 runs/sqrt-20261201-102200
    """
    from tailtune.cli._options import BOOT_MAX, check_int, check_output
    from tailtune.report import build_report

    check_int("--n-boot", n_boot, 2, BOOT_MAX)
    check_output("-o", out, inputs=runs, force=force)
    path = build_report(runs, out, title=title, n_boot=n_boot, split=split)
    console.print(f"wrote {path}")

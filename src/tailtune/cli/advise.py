"""``tailtune advise``: where more labels help, and what a labelling budget buys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tailtune.advise.settings import AdviseSettings
from tailtune.cli._common import SetOpt, command
from tailtune.cli._print import console

app = typer.Typer()
_DEFAULT = AdviseSettings()  # the options' defaults are the settings' own


@command(app, "advise", "Where more labels help: learning curves and a labelling plan.")
def advise_cmd(
    source: Annotated[Path, typer.Argument(help="A config YAML or a finished run directory.")],
    budget: Annotated[
        int, typer.Option(help="New examples to label, shared across classes.")
    ] = _DEFAULT.budget,
    target_f1: Annotated[
        float, typer.Option(help="Per-class F1 the diagnosis and 'examples to target' aim at.")
    ] = _DEFAULT.target_f1,
    fractions: Annotated[
        list[float] | None,
        typer.Option(
            help="Training fractions of the learning curves (repeat or list).",
            show_default=" ".join(f"{f:g}" for f in _DEFAULT.fractions),
        ),
    ] = None,  # fmt: skip
    seeds: Annotated[
        list[int] | None,
        typer.Option(help="Seeds per fraction.", show_default=" ".join(map(str, _DEFAULT.seeds))),
    ] = None,
    executor: Annotated[str, typer.Option(help="local, processes or ray.")] = _DEFAULT.executor,
    workers: Annotated[
        int, typer.Option(help="Parallel runs (processes, ray).")
    ] = _DEFAULT.workers,
    ray_address: Annotated[str | None, typer.Option(help="Existing Ray cluster address.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output folder (default: RUN/advice or runs/advise-NAME)."
        ),
    ] = None,
    design: Annotated[
        str, typer.Option(help="stratified (every class shrinks) or classwise (half per seed).")
    ] = _DEFAULT.design,
    overrides: SetOpt = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Where a moved run's data files are now (repeatable)."),
    ] = None,
) -> None:
    """Train on nested fractions, fit per-class learning curves, diagnose, plan a budget.

    Writes advice.json, advice.md and curves.png; re-running resumes the finished runs.

    Examples:
    tailtune advise configs/cfpb-tfidf.yaml --budget 500
    tailtune advise runs/cfpb-tfidf-20260101-120000 --budget 2000 --target-f1 0.6
    tailtune advise configs/cfpb-tfidf.yaml --fractions 0.25 --fractions 0.5 --fractions 1
      --seeds 1 --seeds 2 --executor processes -o advice/
    """
    from tailtune._settings import from_kwargs
    from tailtune.advise import advise, print_advice
    from tailtune.cli._options import check_int

    for seed in seeds or ():
        check_int("--seeds", seed, 0, 2**32 - 1)
    check_int("--workers", workers, 1)

    given = {"fractions": fractions, "seeds": seeds}
    settings = from_kwargs(AdviseSettings, {
        "budget": budget, "target_f1": target_f1, "executor": executor, "workers": workers,
        "ray_address": ray_address, "design": design,
        **{k: list(v) for k, v in given.items() if v},  # not given: the settings' defaults
    })  # fmt: skip
    adv = advise(source, settings, out_dir=out, overrides=overrides, data=data,
                 log=lambda msg: console.print(msg, markup=False, highlight=False))  # fmt: skip
    print_advice(adv.data, console)
    console.print(
        f"advice written to {adv.out_dir} ({adv.data['seconds']:.0f} s)", markup=False,
        highlight=False,
    )  # fmt: skip

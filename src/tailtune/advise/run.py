"""``advise(CONFIG | RUN)``: where more labels help, top to bottom.

1. the config (a config file, or a finished run's own config) and the output folder;
2. learning-curve runs on nested fractions of the training split, all scored on one validation
   split, through the experiment executors (:mod:`.fractions`);
3. per-class curves with bootstrap replicates (:mod:`.fit`);
4. confusable pairs and their merge what-if on the base run's predictions (:mod:`.confusable`);
5. the per-class diagnosis (:mod:`.diagnose`), the plan and its naive alternatives (:mod:`.plan`);
6. likely label errors (cleanlab, when installed) and the files (:mod:`.output`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.advise.fractions import plan_fractions, run_fractions
from tailtune.advise.settings import AdviseSettings
from tailtune.errors import ConfigError, DataError

__all__ = ["Advice", "advise"]


@dataclass
class Advice:
    """The advice as plain data (``data``, what advice.json holds) and the files written."""

    data: dict[str, Any]
    out_dir: Path
    curves: list = field(default_factory=list, repr=False)
    files: list[Path] = field(default_factory=list)


def advise(
    source: str | Path,
    settings: AdviseSettings | None = None,
    *,
    out_dir: str | Path | None = None,
    overrides: list[str] | None = None,
    data: list[str | Path] | None = None,
    caps: dict[str, int] | None = None,
    write: bool = True,
    log: Callable[[str], None] | None = None,
) -> Advice:
    """Fit per-class learning curves for a config or run and plan a labelling budget.

    ``source`` is a config YAML or a finished run directory (its ``config.yaml`` is used and its
    validation predictions are the base for the confusion analysis); ``settings`` are the
    budget, the learning-curve design and the diagnosis rules (:class:`AdviseSettings`, validated
    here); ``overrides`` are ``--set`` strings for the source's config; ``data`` are the files
    of a run that moved, in place of its ``data.path`` (:mod:`tailtune.runs.data_files`; the
    run's files are otherwise found from any folder and checked). ``caps`` bounds the extra
    examples per class (what an unlabelled pool holds). ``write=False`` returns the advice
    without writing advice.json / advice.md / curves.png. See docs/advise.md for how to read it.
    """
    from tailtune.advise.confusable import (
        centroid_cosines,
        confusable_pairs,
        merged_macro_f1,
        similar_names,
    )
    from tailtune.advise.diagnose import diagnose_class
    from tailtune.advise.fit import fit_curves
    from tailtune.advise.plan import build_plan, naive_allocations, price_allocation
    from tailtune.advise.points import collect_points
    from tailtune.runs import read_run

    started = time.perf_counter()
    say = log or (lambda msg: None)
    settings = settings or AdviseSettings()
    settings.validate()
    fractions, seeds = sorted(set(settings.fractions)), list(settings.seeds)
    cfg, given_run = _resolve(source, overrides, data)
    if cfg.data.multi_label == "sets":
        raise ConfigError(
            "advise: data.multi_label: sets: its learning curves shrink and grow the data one "
            "class at a time and its plan adds examples of one class each, but a text of a label "
            "set counts for several labels at once; measure a label-set run with tailtune noise "
            "and errors, and compare data sizes with tailtune experiment (vary "
            "data.train_fraction: label sets are subsampled by iterative stratification)"
        )
    out = Path(out_dir) if out_dir else _default_out(cfg, given_run)
    train, val, runs = plan_fractions(cfg, out, fractions, seeds, settings.design)
    reuse = {}
    if given_run is not None:
        _check_same_val(given_run, val)
        if 1.0 in fractions and cfg.seed in seeds:  # the full-data run of its own seed is it
            reuse[(1.0, cfg.seed)] = given_run.path
            runs = [r for r in runs if (r.fraction, r.seed) != (1.0, cfg.seed)]
    run_dirs = {**run_fractions(runs, out / "runs", executor=settings.executor,
                                workers=settings.workers, ray_address=settings.ray_address,
                                log=say), **reuse}  # fmt: skip
    points = collect_points(run_dirs)
    base = given_run or _base_run(run_dirs, max(fractions), seeds[0], read_run)
    tiers = base.labels.get("tiers") or {}
    say(f"fitting {len(points.classes)} class curves ({settings.n_boot} bootstrap replicates)")
    curves = fit_curves(points, tiers, few=settings.few, n_boot=settings.n_boot)

    frame = base.split_predictions("val")
    gold, pred = frame["gold"].to_numpy(dtype=str), frame["pred"].to_numpy(dtype=str)
    cosines = centroid_cosines(train["text"], train["label"])
    pairs = confusable_pairs(gold, pred, cosines)
    for p in pairs:
        p.update(merged_macro_f1(gold, pred, [(p["label"], p["other"])]))
    names = similar_names(points.classes)
    for p in names:
        p.update(merged_macro_f1(gold, pred, [(p["label"], p["other"])]))
    merge_all = merged_macro_f1(gold, pred, [(p["label"], p["other"]) for p in pairs])
    by_label = {p["label"]: p for p in pairs}
    classes = [
        {**diagnose_class(cv, confusable=by_label.get(cv.label) if cv.measurable else None,
                          target=settings.target_f1, half_width=settings.half_width),
         "curve": cv.fit.to_dict() if cv.fit else None}
        for cv in curves
    ]  # fmt: skip

    from tailtune.advise.fit import seed_spread

    macro_sd = seed_spread(curves)
    budget = settings.budget
    plan = build_plan(curves, budget, caps=caps, noise_sd=macro_sd)
    x = plan.pop("_x")
    n_train = np.array([cv.n_train for cv in curves])
    cap_arr = None if caps is None else np.array([caps.get(cv.label, 0) for cv in curves])
    alternatives = {"plan": {k: plan[k] for k in ("predicted_gain", "low", "high")}}
    for name, alt in naive_allocations(n_train, budget, cap_arr).items():
        alternatives[name] = price_allocation(curves, alt, noise_sd=macro_sd)
    data = {
        "source": str(source), "base_run": str(base.path), "backend": cfg.model.backend,
        "model": cfg.model.name, "budget": int(budget), "target_f1": settings.target_f1,
        "fractions": fractions, "seeds": seeds, "design": settings.design,
        "n_classes": len(curves), "n_val": int(len(gold)), "n_train": int(len(train)),
        "macro_f1_now": float(base.metrics.get("val", {}).get("macro_f1", float("nan"))),
        "seed_sd_macro_f1": round(macro_sd, 5), "plan": plan, "allocation": {cv.label: int(v) for cv, v in zip(curves, x, strict=True)},
        "alternatives": alternatives, "classes": classes, "confusable": pairs,
        "similar_names": names,
        "merge_all": merge_all if pairs else None,
        "label_issues": None, "label_issues_note": None,
        "rules": _rules(settings.few, settings.half_width, settings.target_f1),
        "runs": {"n": len(run_dirs), "dirs": [str(p) for p in points.run_dirs]},
    }  # fmt: skip
    if settings.issues:
        data["label_issues"], data["label_issues_note"] = _label_issues(base)
    data["seconds"] = round(time.perf_counter() - started, 2)
    advice = Advice(data=data, out_dir=out, curves=curves)
    if write:
        from tailtune.advise.output import write_advice

        advice.files = write_advice(advice)
    return advice


def _resolve(source, overrides, data=None):
    """(config, run or None) of a config file or a finished run directory."""
    from tailtune.config import config_from_dict, load_config
    from tailtune.runs import read_run
    from tailtune.runs.reader import is_run_dir

    p = Path(source)
    if p.is_dir():
        if not is_run_dir(p):
            raise DataError(f"{p}: not a finished run directory (expected metrics.json and config.yaml)")  # fmt: skip
        from tailtune.config import apply_overrides
        from tailtune.runs.data_files import locate_data

        run = read_run(p)
        located = locate_data(run, data)
        return config_from_dict(apply_overrides(located, overrides or [])), run
    if not p.is_file():
        raise DataError(f"{p}: no such config file or run directory")
    if data:
        raise DataError("--data: locates a moved run's files; with a config, set data.path")
    return load_config(p, overrides or []), None


def _default_out(cfg, run) -> Path:
    if run is not None:
        return run.path / "advice"
    return Path(cfg.runs_dir) / f"advise-{cfg.name}"


def _check_same_val(run, val) -> None:
    gold = run.split_predictions("val")["gold"].to_numpy(dtype=str)
    if len(gold) != len(val) or not np.array_equal(gold, val["label"].to_numpy(dtype=str)):
        raise DataError(
            f"{run.path}: its validation split could not be rebuilt from its config.yaml "
            f"({len(gold)} rows in the run, {len(val)} rebuilt); advise the config file instead"
        )


def _base_run(run_dirs, fraction, seed, read_run):
    key = (fraction, seed)
    if key not in run_dirs:
        raise DataError(f"advise: the full-data run of seed {seed} failed; see its log")
    return read_run(run_dirs[key])


def _label_issues(run):
    """Likely label errors on validation (cleanlab, out-of-sample probabilities), or a note."""
    from tailtune.errors import MissingExtraError
    from tailtune.evaluation.errors import label_issues

    try:
        frame = label_issues(run, "val", n=20)
    except MissingExtraError as exc:
        return None, str(exc)
    except DataError as exc:
        return None, f"label issues skipped: {exc}"
    rows = frame.assign(text=frame["text"].str.slice(0, 200)).to_dict("records")
    return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
            for r in rows], None  # fmt: skip


def _rules(few: int, half_width: float, target: float) -> dict[str, str]:
    return {
        "curve": "F1(n) = a - b*n^(-c), 0 <= a <= 1, b, c >= 0 (Figueroa et al. 2012; "
        "Hestness et al. 2017); own fit with >= 4 distinct training counts, else the tier's c",
        "unmeasurable": f"<= {few} validation examples: not fitted to its own points; "
        f"validation examples needed for a 95% Wald half-width of {half_width:g} on recall at "
        "p = 1/2; the plan prices it with its tier's pooled curve (support-weighted)",
        "data-starved": "doubling the class's training examples adds >= 0.02 predicted F1",
        "saturated low": f"adds < 0.02 from doubling and fitted F1 < {target:g}",
        "confusable": ">= 50% (and >= 2) of its errors go to one class whose name similarity "
        ">= 0.75 or TF-IDF centroid cosine >= 0.9",
        "interval": "95% prediction interval: bootstrap replicates of the curves (validation "
        "rows stratified and seeds resampled), re-centred on the estimate, plus a normal draw "
        "with the run-to-run spread of F1 around the curves (residuals over runs and seeds)",
        "plan": "greedy on marginal predicted macro F1 gain (optimal for concave curves)",
    }

"""The report's headline (validation and test side by side), refit card and advice section.

Plain values for the template, read from a run directory only. With a refit, validation
figures come from the selection model (trained on train, its choices made on validation) and
test figures from the model refit on train + validation, so each column names its model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tailtune.evaluation.noise import bootstrap_ci
from tailtune.evaluation.splits import run_splits, split_model, split_name
from tailtune.evaluation.tiers import TIERS
from tailtune.runs import Run

__all__ = ["advice_section", "headline", "refit_card"]


def headline(run: Run, split: str, ci: dict, *, n_boot: int, seed: int) -> list[dict[str, Any]]:
    """One column per split the run has figures for (validation, then test).

    Each column: ``split, name, model`` (which model scored it, None without a refit),
    ``chosen`` (the split the rest of the report reads), ``accuracy``, ``macro_f1`` (each
    ``{value, low, high}``: stratified-bootstrap 95% interval), ``zero_f1``, ``n_classes``,
    ``n_examples`` and ``tiers: {tier: {mean_f1, n_classes}}``. ``ci`` is the chosen split's
    interval (already computed by its noise floor); the other splits are bootstrapped here.
    """
    cols = []
    for s in (x for x in run_splits(run) if x in ("val", "test")):
        m = run.metrics.get(s) or {}
        if s == split:
            interval = ci
        else:
            frame = run.split_predictions(s)
            interval = bootstrap_ci(frame["gold"], frame["pred"], n_boot=n_boot, seed=seed)
        tiers = m.get("tiers") or {}
        cols.append({
            "split": s, "name": split_name(s), "model": _short_model(run, s), "chosen": s == split,
            "accuracy": interval["accuracy"], "macro_f1": interval["macro_f1"],
            "zero_f1": m.get("zero_f1"), "n_classes": m.get("n_classes"),
            "n_examples": m.get("n_examples"),
            "tiers": {t: {"mean_f1": (tiers.get(t) or {}).get("mean_f1"),
                          "n_classes": (tiers.get(t) or {}).get("n_classes", 0)} for t in TIERS},
        })  # fmt: skip
    return cols


def _short_model(run: Run, split: str) -> str | None:
    if split_model(run, split) is None:
        return None
    return "refit model" if split == "test" else "selection model"


def refit_card(run: Run) -> dict[str, Any] | None:
    """What the refit did (``metrics.json`` ``refit``), or None when the run did not refit.

    ``rows`` / ``selection_rows``: training rows of the refit and of the selection model;
    ``steps``: per stage the step count early stopping chose and the refit's scaled count;
    ``choices``: the validation choices carried over (``[(param, value)]``); ``test``: the refit
    model's test figures and ``selection_test`` the selection model's on the same test rows.
    """
    r = run.metrics.get("refit") or {}
    if not r.get("enabled"):
        return None
    rows, sel = r.get("rows"), r.get("selection_rows")
    backend = run.metrics.get("backend") or (run.config.get("model") or {}).get("backend")
    return {
        "why": r.get("why"),
        "backend": backend,
        "model": run.metrics.get("model") or (run.config.get("model") or {}).get("name"),
        "rows": rows,
        "selection_rows": sel,
        "added": rows - sel if isinstance(rows, int) and isinstance(sel, int) else None,
        "steps": r.get("steps") or [],
        "step_rule": r.get("step_rule"),
        "choices": [(k, _value(v)) for k, v in (r.get("choices") or {}).items()],
        "fit_s": r.get("fit_s"),
        "test": _figures(run.metrics.get("test")),
        "selection_test": _figures(r.get("selection_test")),
    }


def _figures(m: dict | None) -> dict[str, Any] | None:
    if not m:
        return None
    return {k: m.get(k) for k in ("accuracy", "macro_f1", "zero_f1", "n_classes", "n_examples")}


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def advice_section(run: Run, index: int) -> dict[str, Any] | None:
    """The ``tailtune advise`` output for this run, as an HTML fragment, or None.

    Looked for in the run folder (``RUN/advice/`` or ``RUN`` itself) and beside it
    (``advise-<run name>/``, where advise writes when given the config). An unreadable
    advice.json gives a note instead of the section, never a failed report.
    """
    from tailtune.advise.report import advice_fragment, find_advice

    name = str(run.config.get("name") or run.metrics.get("name") or run.name)
    for cand in (run.path, run.path.parent / f"advise-{name}"):
        folder = find_advice(cand)
        if folder is None:
            continue
        try:
            html = advice_fragment(folder)
        except (KeyError, TypeError, ValueError) as exc:
            return {"html": None, "folder": str(folder), "note": f"advice.json unreadable: {exc}"}
        html = html.replace("<section id='advice'>", f"<section id='advice-{index}'>", 1)
        return {"html": html, "folder": str(Path(folder)), "note": None}
    return None

"""Pairs of runs compared for the re-weighting signature (the accuracy–macro-F1 trade-off)."""

from __future__ import annotations

from typing import Any

from tailtune.errors import DataError
from tailtune.evaluation.splits import shared_split, split_name
from tailtune.runs import Run, read_run

__all__ = ["compare_runs", "comparison_split"]


def compare_runs(runs, *, min_delta: float = 0.005, split: str = "val") -> list[dict[str, Any]]:
    """Pairs of runs showing the re-weighting signature (the accuracy–macro-F1 trade-off).

    ``runs``: Run objects, run paths, or ``(name, metrics)`` pairs where metrics has
    ``accuracy``, ``macro_f1`` and optionally ``zero_f1`` (a lab log's last row). For every
    ordered pair (a, b) where b has accuracy LOWER and macro F1 HIGHER by at least ``min_delta``
    each and (when both report it) FEWER zero-F1 classes, returns ``{"a", "b", "d_accuracy",
    "d_macro_f1", "d_zero_f1", "objective_change", "message"}``. ``objective_change`` lists
    the objective fields whose values differ when both configs are known: empty means the
    pattern has another cause (training length, data). Menon et al. (2021): the accuracy-optimal
    and balanced-error-optimal classifiers differ, so re-weighting trades one for the other.
    Runs are compared on ``split``'s metrics (each flag names it as ``split``).
    """
    summary = [_summary(r, split) for r in runs]
    flags = []
    for name_a, a, cfg_a in summary:
        for name_b, b, cfg_b in summary:
            if not {"accuracy", "macro_f1"} <= set(a) or not {"accuracy", "macro_f1"} <= set(b):
                continue  # a run without this split's metrics takes no part
            d_acc, d_f1 = b["accuracy"] - a["accuracy"], b["macro_f1"] - a["macro_f1"]
            if name_a == name_b or d_acc > -min_delta or d_f1 < min_delta:
                continue
            dz = None
            if a.get("zero_f1") is not None and b.get("zero_f1") is not None:
                dz = int(b["zero_f1"]) - int(a["zero_f1"])
                if dz >= 0:
                    continue
            change = _objective_change(cfg_a, cfg_b)
            why = ""
            if change is not None:
                why = (f"; objective differs: {', '.join(change)}" if change
                       else "; same objective, so look elsewhere (training length, data size)")  # fmt: skip
            flags.append({
                "a": name_a, "b": name_b, "d_accuracy": d_acc, "d_macro_f1": d_f1, "d_zero_f1": dz,
                "objective_change": change, "split": split,
                "message": f"{name_b} vs {name_a} ({split_name(split)}): accuracy {d_acc:+.3f}, "
                f"macro F1 {d_f1:+.3f}"
                + (f", zero-F1 classes {dz:+d}" if dz is not None else "")
                + " — the re-weighting signature" + why,
            })  # fmt: skip
    return flags


def comparison_split(runs: list[Run], split: str | None) -> str:
    """The split runs are compared on: the one asked for, else the one they share, else val
    (logs have no split: their last row stands for validation)."""
    if split is not None or not runs:
        return split or "val"
    try:
        return shared_split(runs)
    except DataError:
        return "val"


def _summary(r, split: str = "val") -> tuple[str, dict[str, Any], dict | None]:
    if isinstance(r, tuple):
        return str(r[0]), dict(r[1]), (r[2] if len(r) > 2 else None)
    run = r if isinstance(r, Run) else read_run(r)
    return run.name, run.metrics.get(split) or {}, run.config


def _objective_change(cfg_a: dict | None, cfg_b: dict | None) -> list[str] | None:
    """``objective.<field>: a → b`` for every differing objective field; None without configs."""
    if not cfg_a or not cfg_b or "objective" not in cfg_a or "objective" not in cfg_b:
        return None
    oa, ob = cfg_a["objective"] or {}, cfg_b["objective"] or {}
    return [f"objective.{k}: {oa.get(k)} → {ob.get(k)}" for k in sorted(set(oa) | set(ob))
            if oa.get(k) != ob.get(k)]  # fmt: skip

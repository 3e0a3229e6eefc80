"""Visible choices: what a run chose on which rows, said on the console, in train.log and in
metrics.json ``choices``.

A run that picks its checkpoint (early stopping), its post-hoc τ (Menon et al. 2021), its
temperature or its blend weights on the validation rows has seen those rows: its validation
figures are the best of several tries on them, so they are optimistic, and the honest figure is
a split nothing chose on (test).
"""

from __future__ import annotations

from typing import Any

__all__ = ["validation_choices"]


def validation_choices(cfg, backend, n_val: int) -> dict[str, Any]:
    """``{"lines": [...], "on_validation": bool}``: one line per choice, and whether any was
    made on the validation rows (then a last line says the validation figures are optimistic)."""
    info = dict(getattr(backend, "info_", {}) or {})
    rows = n_val - int(info.get("val_rows_unseen") or 0)
    on = f"the {rows:,} validation rows"
    lines, on_val = [], False
    best, steps = info.get("best_step"), info.get("steps")
    if best is not None and info.get("early_stopping_metric"):
        metric, value = info["early_stopping_metric"], info.get("best_metric")
        figure = f" {value:.4f}" if isinstance(value, int | float) else ""
        kept = (f"restored the weights of step {best} of {steps}" if best != steps
                else f"kept the last step, {steps}")  # fmt: skip
        lines.append(f"early stopping {kept}: best validation {metric}{figure}, chosen on {on}")
        on_val = True
    tuned_tau = cfg.objective.tune_posthoc_tau or getattr(backend, "tune_posthoc_tau", False)
    if cfg.model.backend == "ensemble":
        ens = cfg.model.ensemble
        where = (f"{info.get('tune_size', 0):,} training rows carved for tuning"
                 if info.get("tuned_on") == "carved" else on)  # fmt: skip
        if ens.weights is None and info.get("weights"):
            lines.append(f"blend weights {info['weights']} chosen on {where}")
        if ens.tune_tau:
            lines.append(f"post-hoc τ = {info.get('posthoc_tau', 0):g} chosen on {where}")
        on_val = on_val or (info.get("tuned_on") == "eval_set" and bool(lines))
    elif tuned_tau and rows:
        lines.append(f"post-hoc τ = {float(info.get('posthoc_tau') or 0):g} chosen on {on}")
        on_val = True
    fitted = cfg.model.backend == "tfidf" and getattr(backend, "temperature", 0) is None
    if fitted and rows and info.get("temperature", 1.0) != 1.0:  # probabilities only
        lines.append(f"temperature {info['temperature']:.3g} fitted on {on} (probabilities "
                     "only: validation calibration figures are optimistic)")  # fmt: skip
    if on_val:
        lines.append("validation figures of this run are optimistic: these choices were made "
                     "on the same validation rows (a split nothing chose on, test, is the "
                     "honest figure)")  # fmt: skip
    return {"lines": lines, "on_validation": on_val}

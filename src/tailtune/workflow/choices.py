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


def validation_choices(backend, n_val: int) -> dict[str, Any]:
    """``{"lines": [...], "on_validation": bool}``: one line per choice, and whether any was
    made on the validation rows (then a last line says the validation figures are optimistic).
    Early stopping is read from ``info_``; what else ``fit`` chose, the backend says
    (``choice_lines``: τ, a fitted temperature, blend weights)."""
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
    more, chose = backend.choice_lines(on, rows)  # τ, temperature, blend weights, ...
    lines += more
    on_val = on_val or chose
    if on_val:
        lines.append("validation figures of this run are optimistic: these choices were made "
                     "on the same validation rows (a split nothing chose on, test, is the "
                     "honest figure)")  # fmt: skip
    return {"lines": lines, "on_validation": on_val}

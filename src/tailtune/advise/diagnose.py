"""Per-class diagnosis: what more labels would (or would not) do for each class.

Checked in this order, the first that applies names the class:

- **noise-limited** (unmeasurable): at most ``few`` validation examples. Its F1 moves in steps of
  1/support, so no curve is fitted to its points; it gets the validation examples it would need
  instead (:func:`validation_needed`), and the plan prices it with its tier's pooled curve.
- **confusable**: its errors concentrate on a near-duplicate label (:mod:`.confusable`); a merge
  or a labelling guideline helps more than examples.
- **data-starved**: its curve is still rising: doubling its training examples is predicted to
  add at least ``rise`` F1.
- **saturated low**: the curve is flat (less than ``rise`` from doubling) but F1 is under the
  target: more of the same examples will not fix it (look at the labels, the texts, the model).
- **ok**: flat and at or above the target.
"""

from __future__ import annotations

import math

from tailtune.advise.fit import ClassCurve

__all__ = ["validation_needed", "examples_to_target", "diagnose_class", "Z95"]

Z95 = 1.959964


def validation_needed(support: int, half_width: float = 0.2, p: float = 0.5) -> int:
    """Validation examples still to label before a class's recall is known to ±``half_width``.

    A class's recall is a binomial proportion over its n validation examples; its 95% normal
    (Wald) interval has half-width z·√(p(1−p)/n), which falls to ``half_width`` at
    n = z²·p(1−p)/half_width². At the worst case p = ½ that is 25 examples for ±0.2 and 97 for
    ±0.1. F1 is at least as noisy (it also depends on the predicted count), so this is a floor.
    Returns max(0, ⌈n⌉ − support).
    """
    need = math.ceil(Z95**2 * p * (1 - p) / half_width**2 - 1e-9)
    return max(0, need - int(support))


def examples_to_target(curve: ClassCurve, target: float) -> int | None:
    """Extra training examples until the fitted curve reaches ``target`` F1 (0 if it already
    does), or None when its asymptote ``a`` stays below the target (inverting a − b·n^(−c))."""
    fit = curve.fit
    if fit is None:
        return None
    if float(fit.predict(curve.n_train)) >= target:
        return 0
    if fit.a <= target or fit.b <= 0 or fit.c <= 0:
        return None
    n_star = (fit.b / (fit.a - target)) ** (1.0 / fit.c)
    if not math.isfinite(n_star) or n_star > 1e9:
        return None
    return max(0, math.ceil(n_star - 1e-6) - curve.n_train)  # 1e-6: 399.9999… is 400


def diagnose_class(
    curve: ClassCurve,
    *,
    confusable: dict | None = None,
    target: float = 0.5,
    rise: float = 0.02,
    half_width: float = 0.2,
) -> dict:
    """The diagnosis of one class: ``diagnosis``, ``reason`` and the numbers behind them."""
    out = {"label": curve.label, "tier": curve.tier, "n_train": curve.n_train,
           "support": curve.support}  # fmt: skip
    if curve.fit is None:
        need = validation_needed(curve.support, half_width)
        return {**out, "diagnosis": "noise-limited", "measurable": False,
                "validation_needed": need,
                "reason": f"{curve.support} validation examples: label {need} more to know its "
                          f"recall to ±{half_width:g}"}  # fmt: skip
    now = float(curve.fit.predict(curve.n_train))
    doubled = float(curve.fit.predict(2 * curve.n_train)) - now
    out.update(measurable=True, f1_fit=round(now, 4), gain_if_doubled=round(doubled, 4),
               f1_observed=round(float(curve.f1[curve.counts == curve.n_train].mean()), 4),
               to_target=examples_to_target(curve, target))  # fmt: skip
    if confusable is not None:
        return {**out, "diagnosis": "confusable", "merge_with": confusable["other"],
                "reason": f"{confusable['to_other']} of its {confusable['errors']} errors go to "
                          f"'{confusable['other']}' ({confusable['why']})"}  # fmt: skip
    if doubled >= rise:
        return {**out, "diagnosis": "data-starved",
                "reason": f"curve still rising: +{doubled:.3f} F1 predicted from doubling "
                          f"its {curve.n_train} examples"}  # fmt: skip
    if now < target:
        return {**out, "diagnosis": "saturated low",
                "reason": f"flat (+{doubled:.3f} from doubling) at F1 {now:.2f}, under the "
                          f"{target:g} target"}  # fmt: skip
    return {**out, "diagnosis": "ok", "reason": f"flat at F1 {now:.2f}"}

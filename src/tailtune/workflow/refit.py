"""Refit: after model selection on validation, train the final model on train + validation.

Model selection runs as usual (early-stopping step, SVM temperature, post-hoc τ, ensemble blend
weights are chosen on validation); :func:`tailtune.backends.freeze` pins every such choice in an
unfitted clone, and the clone is fitted on training + validation with no eval set. For a class
with 3 examples, the validation copy held back is a third of its data.

**Step rule.** Early stopping chose a number of optimizer steps on ``n_fit`` rows; what it
really selected is a number of *passes* over the data (the point where validation stopped
improving), so the refit keeps the epochs fixed and scales the steps with the data:
``steps_refit = round(best_step * n_refit / n_fit)``. Keeping the steps fixed instead would
see every example fewer times (an under-trained refit on a small set, where refit matters
most). Ensemble members were selected on the ensemble's carve (``info_["fit_size"]`` rows), so
their ratio is taken against that.

**Label sets.** The per-label thresholds are chosen on validation by the selection model; the
refit model keeps them (as it keeps τ and the SVM temperature), since with validation in its
training data it has nothing left to tune them on. They fit the refit model's scores as far as
more data of the same kind leaves a model's scores where they were.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from typing import Any

from tailtune.errors import ConfigError

__all__ = [
    "check_no_validation",
    "choices_carried",
    "refit_backend",
    "refit_decision",
    "refit_phase",
    "validation_need",
]


def refit_decision(cfg, prepared) -> tuple[bool, str]:
    """Whether the run refits, and the one-line reason the run's log and metrics.json give.

    ``train.refit`` null = auto: on when a test split is given (``data.test_path`` or
    ``split.test > 0``), since the test split then measures the final model and validation is
    free to rejoin training; off otherwise (validation is then the only honest measure).
    """
    asked = getattr(cfg.train, "refit", None)
    has_val = prepared.val is not None and len(prepared.val) > 0
    has_test = prepared.test is not None and len(prepared.test) > 0
    if not has_val:
        return False, "no validation split: the model already trained on every training row"
    if asked is True:
        return True, "train.refit: true"
    if asked is False:
        return False, "train.refit: false"
    if has_test:
        return (
            True,
            "auto: a test split is given, so validation rejoins training for the final model",
        )
    return False, "auto: no test split, so validation stays held out to measure the model"


def validation_need(backend) -> str | None:
    """Why ``backend`` cannot be fitted without a validation split, or None when it can (each
    backend answers for itself; a composite asks its stages)."""
    return backend.validation_need()


def check_no_validation(backend) -> None:
    """A one-line ConfigError when ``split.val: 0`` meets a backend that needs validation."""
    reason = validation_need(backend)
    if reason is not None:
        raise ConfigError(f"split.val: 0 leaves no validation split, but {reason}")


def refit_phase(cfg, prepared, backend, fit_texts, fit_labels, work_dir, say):
    """The workflow's refit step: ``(final backend, metrics.json "refit" block)``.

    Off (see :func:`refit_decision`): the selection backend is the final one. On: it is
    frozen and refitted on ``fit_texts`` + the validation split."""
    enabled, why = refit_decision(cfg, prepared)
    say(f"refit: {'on' if enabled else 'off'} ({why})")
    block: dict[str, Any] = {"enabled": enabled, "why": why}
    if not enabled:
        return backend, block
    val = prepared.val
    texts = list(fit_texts) + val["text"].tolist()
    labels = list(fit_labels) + prepared.labels_of(val)
    sub = None if work_dir is None else work_dir / "refit"
    if sub is not None:
        sub.mkdir(parents=True, exist_ok=True)
    # metrics.json's "info" becomes the refit model's; the selection model's is kept here
    block["selection_info"] = dict(getattr(backend, "info_", {}) or {})
    final, info = refit_backend(backend, texts, labels, len(fit_texts), sub)
    if sub is not None:  # its checkpoints are spent: the refit model is saved as the run's model
        shutil.rmtree(sub, ignore_errors=True)
    block.update(info)
    say(f"refit on {len(texts):,} rows (train + val) in {info['fit_s']:.1f}s")
    return final, block


def refit_backend(fitted, texts, labels, n_selection: int, work_dir=None):
    """Fit ``freeze(fitted)`` on ``texts``/``labels`` (train + validation); return the refit
    backend and the "refit" block of metrics.json (rows, choices carried over, fit time)."""
    from tailtune.backends import freeze

    frozen = freeze(fitted)
    steps = _scale_steps(fitted, frozen, len(texts), n_selection)
    carried = choices_carried(fitted, frozen)
    started = time.perf_counter()
    frozen.fit(list(texts), list(labels), eval_set=None, work_dir=work_dir)
    if getattr(fitted, "kind_", "single") == "multi":  # label sets: keep the tuned thresholds
        frozen.keep_rule(fitted)
        carried["thresholds"] = "chosen on validation by the selection model"
    block = {
        "rows": len(texts),
        "selection_rows": n_selection,
        "choices": carried,
        "steps": steps,
        "step_rule": "epochs kept: steps x n_refit / n_selection",
        "fit_s": round(time.perf_counter() - started, 3),
    }
    return frozen, block


def _scale_steps(fitted, frozen, n_refit: int, n_fit: int) -> list[dict]:
    """Scale every step count ``freeze`` pinned (module docstring); what changed, per stage."""
    return fitted.refit_steps(frozen, n_refit, n_fit, "model")


def choices_carried(fitted, frozen) -> dict[str, Any]:
    """The params ``freeze`` changed: what validation chose and the refit keeps (deep diff)."""
    before = _flat(fitted.get_params(deep=True))
    after = _flat(frozen.get_params(deep=True))
    # a τ kept as it was set (not tuned) is listed too when it is not 0: the refit applies it
    return {
        k: v
        for k, v in after.items()
        if before.get(k, _MISSING) != v or (k.endswith("posthoc_tau") and v)
    }


_MISSING = object()


def _flat(params: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values of a deep params dict (sub-backends and settings objects left out:
    their fields appear under their own ``a__b`` keys)."""
    from tailtune.backends.params import is_backend

    out: dict[str, Any] = {}
    for key, value in params.items():
        if is_backend(value) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            continue
        if isinstance(value, dict) and value and all(is_backend(v) for v in value.values()):
            for name, member in value.items():  # a hierarchical model's stage per parent
                for k, v in _flat(member.get_params(deep=True)).items():
                    out[f"{key}[{name}]__{k}"] = v
            continue
        if isinstance(value, (list, tuple)) and value and is_backend(value[0]):
            for i, member in enumerate(value):
                for k, v in _flat(member.get_params(deep=True)).items():
                    out[f"{key}[{i}]__{k}"] = v
            continue
        if isinstance(value, tuple):
            value = list(value)
        if hasattr(value, "item"):
            value = value.item()
        out[key] = value
    return out

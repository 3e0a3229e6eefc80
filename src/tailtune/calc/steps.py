"""How many optimizer steps a run takes: effective batch, steps per epoch, total.

A common hand count is ``steps/epoch = samples / (batch x grad_accum x gpus)`` and rounds it
(958 / 32 = 29.9 -> 30; 162 / 32 = 5.06 -> 6, so the rounding is a ceiling). Two honest
counts exist and :func:`training_steps` returns both:

- ``steps_per_epoch``: optimizer updates actually taken when the last, partial accumulation
  window still steps (tailtune's loop; the 🤗 Trainer of transformers 5, whose
  ``set_initial_training_values`` adds ``int(len_dataloader % grad_accum > 0)``):
  ``ceil(ceil(N / (B x P)) / G)``.
- ``planned_steps_per_epoch``: the transformers 4.x Trainer's count,
  ``max(1, floor(ceil(N / (B x P)) / G))``, which drops a partial window (162 samples at 4x8
  gives 5, not the 6 the ceiling gives).

Both give 30 per epoch and 90 in total for 958 samples at 4x8 on one GPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from tailtune.errors import ConfigError

__all__ = ["StepPlan", "training_steps", "format_steps"]


@dataclass(frozen=True)
class StepPlan:
    """The result of :func:`training_steps`."""

    samples: int
    batch: int
    grad_accum: int
    gpus: int
    epochs: float
    effective_batch: int
    batches_per_epoch: int  # per device: ceil(samples / (batch x gpus))
    steps_per_epoch: int  # optimizer updates, partial last window included
    total_steps: int
    planned_steps_per_epoch: int  # transformers 4.x Trainer's floor count
    planned_total_steps: int

    def as_dict(self) -> dict:
        """A plain dict (for JSON output)."""
        return asdict(self)


def training_steps(
    samples: int, batch: int, grad_accum: int = 1, gpus: int = 1, epochs: float = 1.0
) -> StepPlan:
    """Effective batch, steps per epoch and total steps of a data-parallel run.

    ``effective_batch = batch x grad_accum x gpus``; each device sees
    ``ceil(samples / (batch x gpus))`` batches per epoch (no batch dropped); totals for a
    fractional number of epochs are rounded up, as the 🤗 Trainer does.
    """
    for name, value in (("samples", samples), ("batch", batch), ("grad_accum", grad_accum)):
        if int(value) != value or value < 1:
            raise ConfigError(f"calc steps: {name} must be a positive integer, got {value}")
    if int(gpus) != gpus or gpus < 1:
        raise ConfigError(f"calc steps: gpus must be a positive integer, got {gpus}")
    if not math.isfinite(epochs) or epochs <= 0:
        raise ConfigError(f"calc steps: epochs must be a positive finite number, got {epochs}")
    batches = math.ceil(samples / (batch * gpus))
    per_epoch = math.ceil(batches / grad_accum)
    planned = max(1, batches // grad_accum)
    return StepPlan(
        samples=samples,
        batch=batch,
        grad_accum=grad_accum,
        gpus=gpus,
        epochs=epochs,
        effective_batch=batch * grad_accum * gpus,
        batches_per_epoch=batches,
        steps_per_epoch=per_epoch,
        total_steps=math.ceil(per_epoch * epochs),
        planned_steps_per_epoch=planned,
        planned_total_steps=math.ceil(planned * epochs),
    )


def format_steps(plan: StepPlan) -> list[tuple[str, str]]:
    """(label, value) rows for a printed table; the floor count only when it differs."""
    rows = [
        ("samples", f"{plan.samples:,}"),
        (
            "effective batch",
            f"{plan.batch} x {plan.grad_accum} accum x {plan.gpus} GPU = {plan.effective_batch}",
        ),
        ("batches per device per epoch", f"{plan.batches_per_epoch:,}"),
        ("steps per epoch", f"{plan.steps_per_epoch:,}"),
        ("total steps", f"{plan.total_steps:,} ({plan.epochs:g} epochs)"),
    ]
    if plan.planned_steps_per_epoch != plan.steps_per_epoch:
        rows.append(
            (
                "transformers 4.x Trainer",
                f"{plan.planned_steps_per_epoch:,}/epoch, {plan.planned_total_steps:,} total "
                "(drops the partial last accumulation window)",
            )
        )
    return rows

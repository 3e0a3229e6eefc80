"""Learning-rate schedules: linear warmup, then linear decay, cosine decay or constant."""

from __future__ import annotations

import math

from tailtune._extras import require

__all__ = ["build_scheduler", "lr_factor", "warmup_steps"]


def lr_factor(step: int, kind: str, warmup: int, total: int) -> float:
    """Multiplier of the base learning rate before optimizer step ``step`` (0-based).

    Warmup rises linearly from 1/(warmup+1) to 1; then ``linear`` decays to 0 at ``total``,
    ``cosine`` follows half a cosine to 0 (Loshchilov & Hutter 2017, SGDR, eq. 5 without
    restarts), ``constant`` stays at 1.
    """
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_steps(total: int, ratio: float) -> int:
    """Number of warmup steps for a warmup ratio (rounded down)."""
    return int(total * ratio)


def build_scheduler(optimizer, kind: str, warmup: int, total: int):
    """A ``LambdaLR`` applying :func:`lr_factor` to every parameter group."""
    torch = require("torch")
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, kind, warmup, total)
    )

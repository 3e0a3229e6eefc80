"""``AdviseSettings``: what ``advise()`` is asked for — budget, learning-curve design, executor,
and the diagnosis thresholds — one documented, self-validating dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tailtune._settings import check_choices
from tailtune.errors import ConfigError

__all__ = ["FRACTIONS", "AdviseSettings"]

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
"""Default training fractions of the learning curves."""


@dataclass
class AdviseSettings:
    """A labelling budget, the learning-curve runs that price it, and the diagnosis rules."""

    budget: int = 1000
    """New examples to label, shared across classes."""
    target_f1: float = 0.5
    """Per-class F1 the diagnosis and "examples to target" aim at, in (0, 1)."""
    fractions: list[float] = field(default_factory=lambda: list(FRACTIONS))
    """Training fractions of the learning curves: at least two distinct values in (0, 1]."""
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    """Seeds per fraction (distinct); each seed draws its own subsample and trains with it."""
    design: Literal["stratified", "classwise"] = "stratified"
    """stratified: every class shrinks to each fraction; classwise: each seed shrinks half of
    the classes and keeps the others whole."""
    executor: Literal["local", "sequential", "processes", "ray"] = "local"
    """Where the learning-curve runs train (local = sequential, in this process)."""
    workers: int = 2
    """Runs in parallel (processes, ray)."""
    ray_address: str | None = None
    """An existing Ray cluster's address; null = a local Ray."""
    n_boot: int = 200
    """Bootstrap replicates of the per-class curves (the plan's intervals)."""
    few: int = 5
    """A class with at most this many validation examples is not fitted to its own points."""
    half_width: float = 0.2
    """95% half-width on recall that "validation examples needed" aims at, in (0, 1)."""
    issues: bool = True
    """Look for likely label errors on validation (cleanlab, when installed)."""

    def validate(self, where: str = "advise") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 0:
            raise ConfigError(f"{where}.budget: got {self.budget!r}, expected a whole number >= 0")
        if not 0.0 < float(self.target_f1) < 1.0:
            raise ConfigError(
                f"{where}.target_f1: got {self.target_f1}, expected a number in (0, 1)"
            )
        bad = [f for f in self.fractions if not 0.0 < float(f) <= 1.0]
        if bad or len(set(self.fractions)) < 2:
            raise ConfigError(
                f"{where}.fractions: got {list(self.fractions)}, expected at least two distinct "
                "values in (0, 1], e.g. 0.25 0.5 0.75 1"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"{where}.seeds: got {list(self.seeds)}, expected distinct integers")
        for name, least in (("workers", 1), ("n_boot", 1), ("few", 0)):
            if getattr(self, name) < least:
                raise ConfigError(
                    f"{where}.{name}: got {getattr(self, name)!r}, expected an integer >= {least}"
                )
        if not 0.0 < self.half_width < 1.0:
            raise ConfigError(
                f"{where}.half_width: got {self.half_width}, expected a number in (0, 1)"
            )

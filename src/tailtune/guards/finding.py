"""A guard's finding: what went wrong, the figures that show it, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["GUARDS", "Finding", "first_finding"]

# Every guard, in the order a diagnosis ranks them: the first finding is the verdict. A
# diverging run explains everything after it; a model that learned nothing is collapsed or at
# chance for that reason; a collapse puts a small label set at chance too; leakage inflates figures but does not explain a curve.
GUARDS = (
    "divergence",
    "not-learning",
    "collapsed",
    "identifier-labels",
    "labels-unrelated",
    "leakage",
)


@dataclass
class Finding:
    """One guard that fired: ``guard`` (a name of :data:`GUARDS`), ``cause`` (one sentence),
    ``evidence`` (the figures it was read from, JSON-ready), ``what_to_do`` (the next step)
    and ``step`` (the optimizer step of the evaluation it fired on; None when read afterwards)."""

    guard: str
    cause: str
    evidence: dict[str, Any] = field(default_factory=dict)
    what_to_do: str = ""
    step: int | None = None

    def line(self) -> str:
        """The one warning line printed during training and by ``diagnose``."""
        figures = ", ".join(f"{k} {_fmt(v)}" for k, v in self.evidence.items())
        return f"guard {self.guard}: {self.cause} ({figures}). {self.what_to_do}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (metrics.json ``guards``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Read back :meth:`to_dict`."""
        return cls(**{k: data[k] for k in ("guard", "cause", "evidence", "what_to_do", "step")
                      if k in data})  # fmt: skip


def first_finding(findings: list[Finding]) -> Finding | None:
    """The finding that ranks first in :data:`GUARDS` (the verdict of a flagged run)."""
    ranked = sorted(findings, key=lambda f: GUARDS.index(f.guard) if f.guard in GUARDS else 99)
    return ranked[0] if ranked else None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

"""The hierarchical model's config section (``model.hierarchy``) and its builder.

When ``data.hierarchy`` is on, the backend a run config names becomes the stage of a
:class:`~tailtune.backends.hierarchical.HierarchicalBackend`: the one model over leaf paths
(``strategy: flat``), or the template of every level's or parent's classifier
(``strategy: top_down``), unless ``levels`` gives one partial config per level. Only the builder
reads this section; the composite gets plain keyword arguments and built backends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from tailtune._settings import check_choices
from tailtune.errors import ConfigError

__all__ = ["HierarchySettings", "hierarchical_kwargs"]


@dataclass
class HierarchySettings:
    """How a run with ``data.hierarchy`` predicts a path (config ``model.hierarchy``)."""

    strategy: Literal["flat", "top_down"] = "flat"
    """flat: one model over the leaf paths, parents summed from leaves; top_down: a classifier
    per level (or per parent), each child chosen under the predicted parent."""
    per: Literal["level", "parent"] = "level"
    """top_down only: one classifier per level, or one per parent node (trained on its rows)."""
    decode: Literal["top_down", "leaf"] = "top_down"
    """How a path is read from the leaf probabilities: the most probable node level by level
    (parents summed), or the most probable leaf."""
    levels: list[dict[str, Any]] = field(default_factory=list)
    """One backend per level (top_down), each a partial config over the run's or
    {backend: name, ...}; empty = the run's model.backend at every level."""
    backoff_precision: float | list[float] | None = None
    """Back-off: thresholds chosen on validation for this precision at every level (or one
    per level); predict then answers the deepest level that clears them, else "unknown"."""
    backoff_thresholds: list[float | None] | None = None
    """Back-off thresholds given by hand, one per level (null: never answer that level);
    they win over backoff_precision."""

    def validate(self, where: str = "model.hierarchy") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.levels and self.strategy != "top_down":
            raise ConfigError(
                f"{where}.levels: one backend per level needs {where}.strategy: top_down "
                f"(got {self.strategy}, one model over the leaf paths)"
            )
        target = self.backoff_precision
        targets = target if isinstance(target, list) else [] if target is None else [target]
        for t in targets:
            if not isinstance(t, (int, float)) or math.isnan(t) or not 0 < t <= 1:
                raise ConfigError(
                    f"{where}.backoff_precision: got {target}, expected a precision in (0, 1] "
                    "or one per level"
                )
        for t in self.backoff_thresholds or []:
            if t is not None and (not isinstance(t, (int, float)) or not 0 <= t <= 1):
                raise ConfigError(
                    f"{where}.backoff_thresholds: got {self.backoff_thresholds}, expected "
                    "probabilities in [0, 1] or null, one per level"
                )


def hierarchical_kwargs(cfg, base, build_stage) -> dict[str, Any]:
    """The composite's constructor arguments for a run config: ``base`` is the run's own
    backend, built; ``build_stage`` builds each ``levels`` entry (as the cascade's stages)."""
    h, data = cfg.model.hierarchy, cfg.data
    columns = data.label_columns if len(data.label_columns) > 1 else None
    return {
        "model": base,
        "levels": [
            build_stage(spec, cfg, f"model.hierarchy.levels[{i}]")
            for i, spec in enumerate(h.levels)
        ]
        or None,
        "strategy": h.strategy,
        "per": h.per,
        "decode": h.decode,
        "level_names": list(data.level_names or columns or []) or None,
        "separator": data.label_separator,
        "backoff_precision": h.backoff_precision,
        "backoff_thresholds": h.backoff_thresholds,
        "seed": cfg.seed,
    }

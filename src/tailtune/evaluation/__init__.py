"""Evaluation: long-tail metrics over label arrays and frequency tiers by training count (and
per level, hierarchically, for labels that are paths: :mod:`tailtune.evaluation.hierarchy`)."""

from tailtune.evaluation.hierarchy import (
    backoff_table,
    hierarchical_prf,
    hierarchy_metrics,
    level_metrics,
    path_errors,
)
from tailtune.evaluation.metrics import MACRO_OVER, compute_metrics, f1_histogram, per_class_table
from tailtune.evaluation.tiers import (
    TIERS,
    TierAssignment,
    assign_tiers,
    data_driven_tiers,
    resolve_tiers,
    tier_of,
    tier_summary,
)

__all__ = [
    "MACRO_OVER",
    "TIERS",
    "TierAssignment",
    "assign_tiers",
    "backoff_table",
    "compute_metrics",
    "data_driven_tiers",
    "f1_histogram",
    "hierarchical_prf",
    "hierarchy_metrics",
    "level_metrics",
    "path_errors",
    "per_class_table",
    "resolve_tiers",
    "tier_of",
    "tier_summary",
]

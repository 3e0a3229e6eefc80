"""Evaluation: long-tail metrics over label arrays and frequency tiers by training count."""

from tailtune.evaluation.metrics import MACRO_OVER, compute_metrics, f1_histogram, per_class_table
from tailtune.evaluation.tiers import TIERS, assign_tiers, tier_of, tier_summary

__all__ = [
    "MACRO_OVER",
    "TIERS",
    "assign_tiers",
    "compute_metrics",
    "f1_histogram",
    "per_class_table",
    "tier_of",
    "tier_summary",
]

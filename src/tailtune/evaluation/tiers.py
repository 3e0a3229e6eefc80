"""Frequency tiers by *training* count: head, mid, tail — per-tier scores show whether a model
serves the rare classes or only the frequent ones.

Tiers always come from training counts, never from evaluation support, so that a class keeps
its tier across validation, test and every run on the same split. Two rules make them:

- **fixed thresholds** (:func:`assign_tiers`): head = at least ``head_min`` training examples
  (default 2,000), tail = fewer than ``tail_max`` (default 100), mid = in between. Absolute
  counts compare across data sets: a "tail" class is one with few examples, whatever else the
  data holds.
- **data-driven** (:func:`data_driven_tiers`), used when the fixed defaults are degenerate on a
  data set (a tier left empty, e.g. no class reaches 2,000, or 150 classes of 100 examples all
  fall in one tier): classes ranked by training count (ties by label); head = the most frequent
  classes that together hold the first half of the training examples, tail = the least
  frequent classes that together hold the last 10%, mid = the rest.

Why shares of the *examples* rather than count tertiles: a long tail is defined by where the
data sits — a few classes hold most of it, many classes share little — and the split into the
classes that hold half of the volume is the anchor of Kilkki's (2007) long-tail model (N50, the
number of most popular objects that make up half of the whole volume). On a steep tail this
gives a small head and a large tail, as the word means; count tertiles would always put a third
of the classes in the head, modest ones included. On flat data the rule still splits the
ranking the same way every time (about half of the classes head, a tenth tail, ties broken by
label), and its one-line description says so, so nobody reads much into tiers that flat data
cannot give. Explicit thresholds in the config (``eval.head_min`` / ``eval.tail_max``) always
win, even when degenerate.

Kilkki, K. (2007). A practical model for analyzing long tails. First Monday 12(5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_HEAD_MIN",
    "DEFAULT_TAIL_MAX",
    "HEAD_SHARE",
    "TAIL_SHARE",
    "TIERS",
    "TierAssignment",
    "assign_tiers",
    "data_driven_tiers",
    "recorded_rule",
    "resolve_tiers",
    "tier_of",
    "tier_summary",
]

TIERS = ("head", "mid", "tail")
DEFAULT_HEAD_MIN = 2000
DEFAULT_TAIL_MAX = 100
HEAD_SHARE = 0.5  # head: the classes holding the first half of the training examples
TAIL_SHARE = 0.1  # tail: the classes holding the last 10%


@dataclass(frozen=True)
class TierAssignment:
    """Each label's tier and the rule that made them (one line, shown beside every tier table).

    ``head_min`` / ``tail_max`` are the thresholds when the rule is fixed, None when it is
    data-driven (then tiers follow ranks, and equal counts may sit in two tiers).
    """

    tiers: dict[str, str]
    rule: str
    kind: str  # "fixed" or "data-driven"
    head_min: int | None = None
    tail_max: int | None = None

    def n_classes(self) -> dict[str, int]:
        """Classes per tier, in head/mid/tail order."""
        return {t: sum(1 for v in self.tiers.values() if v == t) for t in TIERS}

    def class_stats(self, train_counts: Mapping[str, int]) -> dict:
        """The tier fields of data.json's ``train_stats``: ``head_min, tail_max, tiers_rule`` and
        ``tiers: {tier: {classes, rows}}`` (the shape of ``tailtune.data.class_stats``)."""
        by_tier = {
            t: {
                "classes": sum(1 for v in self.tiers.values() if v == t),
                "rows": int(sum(n for c, n in train_counts.items() if self.tiers.get(c) == t)),
            }
            for t in TIERS
        }
        return {"head_min": self.head_min, "tail_max": self.tail_max, "tiers_rule": self.rule,
                "tiers": by_tier}  # fmt: skip

    def record(self) -> dict:
        """The labels.json fields: ``tiers, tiers_rule, head_min, tail_max``."""
        return {
            "tiers": self.tiers,
            "tiers_rule": self.rule,
            "head_min": self.head_min,
            "tail_max": self.tail_max,
        }


def resolve_tiers(
    train_counts: Mapping[str, int], head_min: int | None = None, tail_max: int | None = None
) -> TierAssignment:
    """The tiers of a training set: explicit thresholds, else the fixed defaults, else data-driven.

    ``head_min`` / ``tail_max`` None means "auto" (the config's null). Any explicit value makes
    the rule fixed (the other threshold takes its default) and is kept even when degenerate.
    Under auto, the defaults (head ≥ 2,000, tail < 100) are used unless they leave a tier empty
    on at least three classes; then :func:`data_driven_tiers` decides (module docstring).
    """
    counts = {str(k): int(v) for k, v in train_counts.items()}
    explicit = head_min is not None or tail_max is not None
    h = DEFAULT_HEAD_MIN if head_min is None else int(head_min)
    t = DEFAULT_TAIL_MAX if tail_max is None else int(tail_max)
    fixed = assign_tiers(counts, head_min=h, tail_max=t)
    where = "; set in eval" if explicit else ""
    rule = f"fixed (head >= {h:,}, tail < {t:,}{where})"
    empty = [tier for tier in TIERS if tier not in set(fixed.values())]
    if explicit or not empty or len(counts) < len(TIERS):
        return TierAssignment(fixed, rule, "fixed", h, t)
    tiers = data_driven_tiers(counts)
    why = f"{' and '.join(empty)} empty under head >= {h:,} / tail < {t:,}"
    return TierAssignment(tiers, _describe(counts, tiers, why), "data-driven")


def data_driven_tiers(
    train_counts: Mapping[str, int], head_share: float = HEAD_SHARE, tail_share: float = TAIL_SHARE
) -> dict[str, str]:
    """Tiers by share of the training examples (module docstring): head, mid, tail.

    Classes are ranked by count (descending, ties by label). A class is head when the classes
    ranked above it hold less than ``head_share`` of the examples (so the head holds at least
    that share), tail when those above it hold at least ``1 - tail_share`` (so the tail holds at
    most ``tail_share``). With three or more classes every tier keeps at least one class: the
    head gives up its last classes, or the tail takes the least frequent class, when needed.
    """
    ranked = sorted(train_counts, key=lambda c: (-int(train_counts[c]), str(c)))
    k = len(ranked)
    if k == 0:
        return {}
    sizes = np.array([max(int(train_counts[c]), 0) for c in ranked], dtype=float)
    total = sizes.sum()
    before = (np.cumsum(sizes) - sizes) / total if total > 0 else np.arange(k) / k
    eps = 1e-9  # shares that land exactly on a boundary (flat data) must not flip on rounding
    n_head = max(1, int(np.sum(before < head_share - eps)))
    in_tail = before >= 1.0 - tail_share - eps
    first_tail = int(np.argmax(in_tail)) if in_tail.any() else k
    if k >= len(TIERS):
        n_head = min(n_head, k - 2)
        first_tail = min(max(first_tail, n_head + 1), k - 1)
    else:
        first_tail = max(first_tail, n_head)
    return {
        c: "head" if i < n_head else "tail" if i >= first_tail else "mid"
        for i, c in enumerate(ranked)
    }


def _describe(counts: dict[str, int], tiers: dict[str, str], why: str) -> str:
    """One line: the data-driven rule, each tier's count range, and ties split by rank."""
    ranges = {}
    for tier in TIERS:
        vals = [counts[c] for c, v in tiers.items() if v == tier]
        lo, hi = (min(vals), max(vals)) if vals else (None, None)
        ranges[tier] = "none" if lo is None else f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"
    rule = (
        f"data-driven ({why}): head = largest classes holding the first {HEAD_SHARE:.0%} of "
        f"training examples ({ranges['head']} each), tail = smallest holding the last "
        f"{TAIL_SHARE:.0%} ({ranges['tail']}), mid = the rest ({ranges['mid']})"
    )
    by_count: dict[int, set[str]] = {}
    for c, tier in tiers.items():
        by_count.setdefault(counts[c], set()).add(tier)
    if any(len(v) > 1 for v in by_count.values()):
        rule += "; equal counts split by rank (ties by label)"
    return rule


def recorded_rule(labels: Mapping) -> str | None:
    """The tiers rule a run recorded (labels.json ``tiers_rule``); None when it has no tiers."""
    return str(labels["tiers_rule"]) if labels.get("tiers_rule") else None


def assign_tiers(
    train_counts: Mapping[str, int],
    head_min: int = DEFAULT_HEAD_MIN,
    tail_max: int = DEFAULT_TAIL_MAX,
) -> dict[str, str]:
    """The fixed rule: ``"head"`` (count ≥ head_min), ``"tail"`` (< tail_max), else ``"mid"``."""
    _check_bounds(head_min, tail_max)
    return {label: tier_of(n, head_min, tail_max) for label, n in train_counts.items()}


def tier_of(count: int, head_min: int = DEFAULT_HEAD_MIN, tail_max: int = DEFAULT_TAIL_MAX) -> str:
    """The fixed-rule tier of one training count (a class unseen in training, count 0, is tail)."""
    if count >= head_min:
        return "head"
    return "tail" if count < tail_max else "mid"


def _check_bounds(head_min: int, tail_max: int) -> None:
    """Tail must sit below head, else a class could be both."""
    if tail_max > head_min:
        raise ValueError(f"tail_max ({tail_max}) must not exceed head_min ({head_min})")


def tier_summary(tiers: list[str], f1: np.ndarray) -> dict[str, dict]:
    """``{tier: {n_classes, mean_f1, zero_f1}}`` for all three tiers, in head/mid/tail order.

    ``tiers[i]`` is the tier of the class whose F1 is ``f1[i]``. An empty tier reports
    ``n_classes = 0``, ``mean_f1 = None`` (JSON null: no classes, no mean) and ``zero_f1 = 0``.
    """
    tier_arr = np.asarray(tiers, dtype=object)
    f1 = np.asarray(f1, dtype=np.float64)
    out: dict[str, dict] = {}
    for tier in TIERS:
        sel = f1[tier_arr == tier]
        out[tier] = {
            "n_classes": int(sel.size),
            "mean_f1": float(sel.mean()) if sel.size else None,
            "zero_f1": int(np.sum(sel == 0.0)),
        }
    return out

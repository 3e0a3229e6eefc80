"""Metrics for hierarchical labels: every level, the hierarchy as a whole, back-off, and errors.

Gold and predicted labels are paths (tuples of names, top level first, as
:class:`tailtune.data.Hierarchy` parses them); a predicted path may be shorter than the gold
one (a backed-off answer) or empty (unknown). A node is its full path prefix, so an Issue name
under two Products is two classes.

- **Per level** (:func:`level_metrics`): at level d, the rows whose gold path reaches d, their
  gold node at d against the predicted node at d (a prediction that stops above d is wrong
  there and names no class of its own), scored by :func:`~tailtune.evaluation.compute_metrics`:
  accuracy, macro F1 over the level's gold nodes, and tiers by the *training* count of each node
  at that level (:func:`~tailtune.evaluation.tiers.resolve_tiers`).
- **Hierarchical precision / recall / F1** (:func:`hierarchical_prf`), Kiritchenko et al. (2006),
  micro-averaged over rows: with Ĉᵢ the gold path's augmented set (its node and all ancestors,
  the root excluded) and Ĉ'ᵢ the predicted one,
  ``hP = Σᵢ|Ĉᵢ ∩ Ĉ'ᵢ| / Σᵢ|Ĉ'ᵢ|``, ``hR = Σᵢ|Ĉᵢ ∩ Ĉ'ᵢ| / Σᵢ|Ĉᵢ|``, ``hF = 2·hP·hR / (hP + hR)``.
  A mistake deep in the tree costs less than one at the top; an answer stopped at level d is
  scored on its ancestors only (precision keeps, recall pays for the missing levels).
- **Back-off** (:func:`backoff_table`): per level, coverage (share of rows answered at that
  level or deeper) and precision (share of those whose node at that level is right).
- **Errors** (:func:`path_errors`): where each wrong path first leaves the gold one: a *sibling*
  error is wrong only at the gold path's last level (it stayed under the right parent); a
  *wrong branch* left it higher up.

Kiritchenko, S., Matwin, S., Nock, R. and Famili, A. F. (2006). Learning and evaluation in the
presence of class hierarchies: application to text categorization. Canadian AI 2006, LNAI 4013.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from tailtune.evaluation.metrics import compute_metrics
from tailtune.evaluation.tiers import resolve_tiers

__all__ = [
    "backoff_table",
    "error_kind",
    "hierarchical_prf",
    "hierarchy_metrics",
    "level_metrics",
    "path_errors",
]

Path = tuple[str, ...]
_NO_ANSWER = "\x00no answer"  # the level-d "class" of a path that stops above d: never gold


def level_metrics(
    gold: Sequence[Path],
    pred: Sequence[Path],
    levels: Sequence[str],
    *,
    train: Sequence[Path] | None = None,
    head_min: int | None = None,
    tail_max: int | None = None,
    separator: str = " | ",
) -> dict[str, dict]:
    """``{level name: compute_metrics(...)}`` per level (module docstring), with ``tiers_rule``
    when ``train`` (the training paths) is given. A level no gold path reaches is left out."""
    _check(gold, pred)
    out: dict[str, dict] = {}
    for d, name in enumerate(levels, start=1):
        rows = [i for i, g in enumerate(gold) if len(g) >= d]
        if not rows:
            continue
        g_d = [separator.join(gold[i][:d]) for i in rows]
        p_d = [separator.join(pred[i][:d]) if len(pred[i]) >= d else _NO_ANSWER for i in rows]
        if train is None:
            out[name] = compute_metrics(g_d, p_d)
            continue
        counts = Counter(separator.join(t[:d]) for t in train if len(t) >= d)
        tiers = resolve_tiers(counts, head_min, tail_max)
        out[name] = compute_metrics(g_d, p_d, train_counts=counts, tiers=tiers.tiers)
        out[name]["tiers_rule"] = tiers.rule
    return out


def hierarchical_prf(gold: Sequence[Path], pred: Sequence[Path]) -> dict:
    """Hierarchical precision, recall and F1 (Kiritchenko et al. 2006; module docstring).

    Returns ``h_precision, h_recall, h_f1`` and the sums they come from: ``overlap`` (Σ|Ĉ ∩ Ĉ'|),
    ``predicted`` (Σ|Ĉ'|) and ``gold`` (Σ|Ĉ|). With no predicted node at all, hP is 0.
    """
    _check(gold, pred)
    overlap = sum(_common(g, p) for g, p in zip(gold, pred, strict=True))
    n_pred = sum(len(p) for p in pred)
    n_gold = sum(len(g) for g in gold)
    hp = overlap / n_pred if n_pred else 0.0
    hr = overlap / n_gold if n_gold else 0.0
    hf = 2 * hp * hr / (hp + hr) if hp + hr else 0.0
    return {
        "h_precision": hp,
        "h_recall": hr,
        "h_f1": hf,
        "overlap": overlap,
        "predicted": n_pred,
        "gold": n_gold,
    }


def backoff_table(gold: Sequence[Path], answered: Sequence[Path], levels: Sequence[str]) -> dict:
    """Coverage and precision of backed-off answers per level, and the whole picture.

    Per level d: ``answered`` (rows with an answer at d or deeper), ``coverage`` = answered / n,
    ``correct`` (their node at d equals the gold node at d) and ``precision`` = correct / answered
    (None when nothing is answered). Also ``unknown`` (share of empty answers), ``exact`` (share
    of answers equal to the whole gold path) and the hierarchical P/R/F1 of the answers.
    """
    _check(gold, answered)
    n = len(gold)
    per_level = {}
    for d, name in enumerate(levels, start=1):
        k = sum(1 for a in answered if len(a) >= d)
        ok = sum(
            1 for g, a in zip(gold, answered, strict=True) if len(a) >= d and _common(g, a) >= d
        )
        per_level[name] = {
            "answered": k,
            "coverage": k / n if n else 0.0,
            "correct": ok,
            "precision": ok / k if k else None,
        }
    return {
        "levels": per_level,
        "n_examples": n,
        "unknown": sum(1 for a in answered if not a) / n if n else 0.0,
        "exact": sum(1 for g, a in zip(gold, answered, strict=True) if tuple(g) == tuple(a)) / n
        if n
        else 0.0,
        **hierarchical_prf(gold, answered),
    }


def error_kind(gold: Path, pred: Path) -> tuple[str, int | None]:
    """``(kind, level)`` of one prediction; ``level`` is the first wrong level (1-based) or None.

    Kinds: ``correct``; ``unknown`` (empty answer); ``coarser`` (a correct answer that stops
    above the gold path's end); ``deeper`` (the gold path, continued below its end); ``sibling``
    (wrong only at the gold path's last level, under the right parent); ``wrong_branch`` (first
    wrong above the gold path's last level, or at the top level).
    """
    g, p = tuple(gold), tuple(pred)
    k = _common(g, p)
    if g == p:
        return "correct", None
    if not p:
        return "unknown", None
    if k == len(p):
        return "coarser", None
    if k == len(g):
        return "deeper", k + 1
    if k >= 1 and k == len(g) - 1:
        return "sibling", k + 1
    return "wrong_branch", k + 1


def path_errors(gold: Sequence[Path], pred: Sequence[Path], levels: Sequence[str]) -> dict:
    """Counts of :func:`error_kind` kinds, and of wrong paths by the level where they first leave
    the gold path (``first_wrong_level``: sibling, wrong-branch and deeper errors)."""
    _check(gold, pred)
    kinds: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        kind, level = error_kind(g, p)
        kinds[kind] += 1
        if level is not None:
            first[levels[level - 1] if level <= len(levels) else f"level {level}"] += 1
    wrong = kinds["sibling"] + kinds["wrong_branch"] + kinds["deeper"]
    names = ("correct", "sibling", "wrong_branch", "deeper", "coarser", "unknown")
    return {
        **{name: kinds[name] for name in names},
        "n_examples": len(gold),
        "sibling_share_of_wrong": kinds["sibling"] / wrong if wrong else None,
        "first_wrong_level": {name: first[name] for name in levels},
    }


def hierarchy_metrics(gold: Sequence[Path], pred: Sequence[Path], levels: Sequence[str], **options):
    """``{"levels": level_metrics, "hierarchical": hierarchical_prf, "errors": path_errors}``;
    ``options`` are :func:`level_metrics`' (``train``, ``head_min``, ``tail_max``,
    ``separator``), the only part that takes any."""
    return {
        "levels": level_metrics(gold, pred, levels, **options),
        "hierarchical": hierarchical_prf(gold, pred),
        "errors": path_errors(gold, pred, levels),
    }


def _common(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the common prefix = |Ĉ ∩ Ĉ'| for two paths (their augmented sets are chains)."""
    k = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        k += 1
    return k


def _check(gold: Sequence, pred: Sequence) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold and pred differ in length: {len(gold)} vs {len(pred)}")

"""Error analysis of a run: confusion, where tail errors land, the most confident mistakes.

A misclassified tail example goes one of three ways — (a) to a head class (swamped by the
majority), (b) to a semantically similar class (fine-grained confusion), (c) to another tail
class — and the 5-10 most confident wrong predictions tell more than any aggregate. Any split
the run has predictions for can be read (default: test when present, else validation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailtune._atomic import write_csv
from tailtune.errors import DataError
from tailtune.evaluation.metrics import f1_histogram
from tailtune.evaluation.set_runs import set_separator
from tailtune.evaluation.splits import pick_split, split_model
from tailtune.evaluation.tiers import TIERS, recorded_rule
from tailtune.runs import Run, read_run

__all__ = [
    "ErrorReport",
    "confusion_frame",
    "top_confused_pairs",
    "label_family",
    "tail_error_destinations",
    "wilson_low",
    "hardest_mistakes",
    "per_tier_f1",
    "f1_vs_count",
    "label_issues",
    "error_report",
]

_FAMILY_SEP = re.compile(r"\s\|\s|:")


@dataclass
class ErrorReport:
    """Everything ``tailtune errors`` prints and the report's error-analysis section shows."""

    run: str
    split: str
    confusion: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame
    destinations: dict[str, Any]
    hardest: pd.DataFrame
    tiers: pd.DataFrame
    f1_count: dict[str, Any]
    f1_hist: pd.DataFrame
    issues: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    tiers_rule: str | None = None

    def write_confusion_csv(self, path: str | Path) -> Path:
        """The full K x K confusion matrix (rows gold, columns predicted) as CSV."""
        path = Path(path)
        return write_csv(self.confusion, path, index=True, index_label="gold \\ pred")


def confusion_frame(gold, pred, classes=None) -> pd.DataFrame:
    """Full confusion counts: rows gold, columns predicted, over ``classes`` (or all labels seen)."""
    gold, pred = np.asarray(gold, dtype=str), np.asarray(pred, dtype=str)
    labels = np.asarray(sorted(set(classes or []) | set(gold) | set(pred)), dtype=str)
    k = len(labels)
    g, p = np.searchsorted(labels, gold), np.searchsorted(labels, pred)
    counts = np.bincount(g * k + p, minlength=k * k).reshape(k, k)
    return pd.DataFrame(counts, index=labels, columns=labels)


def top_confused_pairs(confusion: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest off-diagonal cells: ``gold, pred, count, share`` (share of the gold class)."""
    m = confusion.to_numpy().copy()
    support = m.sum(axis=1)
    np.fill_diagonal(m, 0)
    flat = np.argsort(-m, axis=None, kind="stable")[:n]
    rows = [
        {"gold": confusion.index[i], "pred": confusion.columns[j], "count": int(m[i, j]),
         "share": float(m[i, j] / support[i]) if support[i] else 0.0}
        for i, j in zip(*np.unravel_index(flat, m.shape), strict=True)
        if m[i, j] > 0
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["gold", "pred", "count", "share"])


def label_family(label: str) -> str | None:
    """A label's family: the part before the first " | " or ":" (e.g. "Product | Issue" labels).

    Kept deliberately simple: labels that carry no such prefix have no family, and "same family"
    is then reported as unavailable rather than guessed from text similarity.
    """
    parts = _FAMILY_SEP.split(str(label), maxsplit=1)
    return parts[0].strip() if len(parts) == 2 and parts[0].strip() else None


def tail_error_destinations(
    gold, pred, tiers: dict[str, str], families: dict[str, str] | None = None, source: str = "tail"
) -> dict[str, Any]:
    """Where misclassified ``source``-tier examples land: share to head / mid / tail / same family.

    ``families`` maps label -> family; without it, ``label_family`` prefixes are used. The tier
    shares sum to 1; ``same_family`` is a separate share (a same-family error also has a tier),
    or None when fewer than two labels share a family. ``story`` names the matching pattern in
    words, and names a destination only when it clearly dominates (``dominant``: the lower end
    of its share's Wilson interval is above 1/2); otherwise the story is "spread".
    """
    gold, pred = np.asarray(gold, dtype=str), np.asarray(pred, dtype=str)
    wrong = (gold != pred) & np.array([tiers.get(g) == source for g in gold], dtype=bool)
    n = int(wrong.sum())
    dest = [tiers.get(p, "tail") for p in pred[wrong]]
    shares = {t: (dest.count(t) / n if n else 0.0) for t in TIERS}
    fam = families or {c: label_family(c) for c in set(tiers) | set(gold) | set(pred)}
    known = [f for f in fam.values() if f]
    has_families = len(known) > len(set(known))
    same = None
    if has_families and n:
        same = float(np.mean([bool(fam.get(g)) and fam.get(g) == fam.get(p)
                              for g, p in zip(gold[wrong], pred[wrong], strict=True)]))  # fmt: skip
    top = max(shares, key=shares.get) if n else None
    low = wilson_low(shares[top], n) if n else 0.0
    story = {
        "head": "(a) swamped by head classes",
        "mid": "(b) pulled to mid-tier classes",
        "tail": "(c) scattered among other tail classes",
    }.get(top, "no misclassified examples")
    if n and low <= 0.5:  # no destination holds a clear majority: say so, name none
        story = (f"spread: no tier takes a clear majority (the largest, {top}, "
                 f"{shares[top]:.0%} of {n}; 95% interval from {low:.0%})")  # fmt: skip
    if same is not None and wilson_low(same, n) > 0.5:
        story = "(b) semantically similar: mostly the same label family"
    return {
        "source": source, "n_errors": n, "shares": shares, "counts": {t: dest.count(t) for t in TIERS},
        "same_family": same, "families_available": has_families, "story": story,
        "dominant": top if n and low > 0.5 else None,
    }  # fmt: skip


def wilson_low(share: float, n: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval of a proportion (Wilson 1927): ``share`` of ``n``.

    A destination "clearly dominates" when this lower end exceeds 1/2: a majority of the
    errors beyond what the sample size leaves to chance (1 of 1 is 100% with a lower end of 21%).
    """
    if n <= 0:
        return 0.0
    centre = share + z * z / (2 * n)
    half = z * ((share * (1 - share) + z * z / (4 * n)) / n) ** 0.5
    return (centre - half) / (1 + z * z / n)


def hardest_mistakes(frame: pd.DataFrame, probs=None, classes=None, n: int = 10) -> pd.DataFrame:
    """The ``n`` most confident wrong predictions: ``id, text, gold, pred, prob, gold_prob``."""
    wrong = frame[frame["gold"] != frame["pred"]].copy()
    if probs is not None and classes is not None and len(wrong):
        cols = np.searchsorted(np.asarray(classes, dtype=str), wrong["gold"].to_numpy(dtype=str))
        ok = cols < len(classes)
        gp = np.full(len(wrong), np.nan)
        gp[ok] = np.asarray(probs)[wrong.index.to_numpy()[ok], cols[ok]]
        wrong["gold_prob"] = gp
    else:
        wrong["gold_prob"] = np.nan
    wrong = wrong.sort_values("prob", ascending=False, kind="stable").head(n)
    return wrong[["id", "text", "gold", "pred", "prob", "gold_prob"]].reset_index(drop=True)


def per_tier_f1(per_class: pd.DataFrame) -> pd.DataFrame:
    """``tier, n_classes, support, mean_f1, median_f1, zero_f1`` per tier (head, mid, tail)."""
    rows = []
    for t in TIERS:
        sel = per_class[per_class["tier"] == t]
        f1 = sel["f1"].astype(float)
        rows.append({
            "tier": t, "n_classes": len(sel), "support": int(sel["support"].sum()),
            "mean_f1": float(f1.mean()) if len(sel) else None,
            "median_f1": float(f1.median()) if len(sel) else None, "zero_f1": int((f1 == 0).sum()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def f1_vs_count(per_class: pd.DataFrame) -> dict[str, Any]:
    """Per-class F1 against training count, with the Spearman rank correlation between them."""
    pts = per_class[["label", "tier", "train_count", "f1"]].copy()
    pts["train_count"] = pd.to_numeric(pts["train_count"], errors="coerce")
    valid = pts.dropna()
    rho = None
    if len(valid) > 2 and valid["train_count"].nunique() > 1 and valid["f1"].nunique() > 1:
        rho = float(valid["train_count"].rank().corr(valid["f1"].rank()))
    return {"points": pts, "spearman": rho}


def label_issues(run: Run, split: str = "val", n: int = 20) -> pd.DataFrame:
    """Likely label errors ranked by cleanlab (Northcutt et al. 2021, confident learning).

    Uses the run's ``split`` probabilities, which are out-of-sample: the model never trained on
    that split (it may have picked its checkpoint or tau on it, a mild selection, not fitting).
    Never pass training-split probabilities: in-sample confidences hide label issues.
    """
    from tailtune._extras import require

    require("cleanlab", "label-issue ranking")
    from cleanlab.filter import find_label_issues

    if split == "train":
        raise DataError("label_issues: training-split probabilities are in-sample; use val or test")
    classes, probs = run.probabilities(split)
    frame = run.split_predictions(split)
    codes = np.searchsorted(np.asarray(classes, dtype=str), frame["gold"].to_numpy(dtype=str))
    keep = codes < len(classes)
    order = find_label_issues(
        codes[keep], probs[keep].astype(float), return_indices_ranked_by="self_confidence"
    )
    rows = frame[keep].reset_index(drop=True).iloc[order[:n]]
    out = rows[["id", "text", "gold", "pred", "prob"]].copy()
    out["gold_prob"] = probs[keep][order[:n], codes[keep][order[:n]]]
    return out.reset_index(drop=True)


def error_report(
    run: Run | str | Path,
    *,
    split: str | None = None,
    top: int = 10,
    n_hard: int = 5,
    issues: bool = False,
) -> ErrorReport:
    """All of the above for one split of a run directory (``tailtune errors RUN [--split]``).

    ``split`` None = test when the run has test predictions, else val; a split the run lacks
    raises DataError naming the splits it has.
    """
    run = run if isinstance(run, Run) else read_run(run)
    split = pick_split(run, split)
    frame = run.split_predictions(split)
    if set_separator(run) is not None:
        return _set_error_report(run, split, frame, top, n_hard)
    classes = run.labels.get("classes") or sorted(set(frame["gold"]) | set(frame["pred"]))
    tiers = run.labels.get("tiers") or {}
    per_class = run.per_class_for(split)
    probs = None
    try:
        prob_classes, probs = run.probabilities(split)
    except DataError:
        prob_classes = None
    conf = confusion_frame(frame["gold"], frame["pred"], classes)
    report = ErrorReport(
        run=run.name, split=split, confusion=conf, pairs=top_confused_pairs(conf, top),
        destinations=tail_error_destinations(frame["gold"], frame["pred"], tiers, run.labels.get("families")),
        hardest=hardest_mistakes(frame, probs, prob_classes, n_hard),
        tiers=per_tier_f1(per_class), f1_count=f1_vs_count(per_class), f1_hist=f1_histogram(per_class),
        tiers_rule=recorded_rule(run.labels),
    )  # fmt: skip
    if not tiers:
        report.notes.append("labels.json has no tiers: tail-error destinations are empty")
    model = split_model(run, split)
    if model:
        report.notes.append(f"{split} predictions are {model}")
    if issues and probs is not None:
        report.issues = label_issues(run, split)
    return report


def _set_error_report(run: Run, split: str, frame: pd.DataFrame, top: int, n_hard: int):
    """Label sets: the confusion counts texts where a gold label was missed and another said
    instead (share = of the missed label's support); tail-error destinations follow those
    pairs; the hardest mistakes are the most confident wrong sets."""
    from tailtune.evaluation.set_errors import (
        confusion_sets,
        missed_said_pairs,
        set_error_summary,
    )
    from tailtune.evaluation.set_runs import split_matrices

    y, pred, classes, _ = split_matrices(run, split)
    conf = confusion_sets(y, pred, classes)
    support = dict(zip(classes, y.sum(axis=0).tolist(), strict=True))
    pairs = top_confused_pairs(conf, top)
    pairs["share"] = [c / support[g] if support[g] else 0.0
                      for g, c in zip(pairs["gold"], pairs["count"], strict=True)]  # fmt: skip
    gold, said = missed_said_pairs(y, pred, classes)
    tiers = run.labels.get("tiers") or {}
    per_class = run.per_class_for(split)
    frame = frame.fillna({"gold": "", "pred": ""})
    report = ErrorReport(
        run=run.name, split=split, confusion=conf, pairs=pairs,
        destinations=tail_error_destinations(gold, said, tiers, run.labels.get("families")),
        hardest=hardest_mistakes(frame, None, None, n_hard),
        tiers=per_tier_f1(per_class), f1_count=f1_vs_count(per_class),
        f1_hist=f1_histogram(per_class), tiers_rule=recorded_rule(run.labels),
    )  # fmt: skip
    summary = set_error_summary(y, pred)
    report.notes.append(
        "label sets: a confused pair is a gold label missed and another said in the same text; "
        f"{summary['exact']} of {summary['texts']} texts exact, {summary['only_missed']} only "
        f"missing labels, {summary['only_spurious']} only extra, {summary['missed_and_spurious']}"
        f" both, {summary['nothing_predicted']} with no label predicted"
    )
    return report

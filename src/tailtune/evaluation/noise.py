"""The noise floor of an evaluation split: per-class support, bootstrap intervals, paired tests.

Evaluation-set reliability: when, say, 20 of 113 classes have five or fewer validation
examples, a one-point move in macro F1 may be coin flips. These functions put numbers on that,
for whichever split a run has (default: test when present, else validation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.errors import DataError
from tailtune.evaluation._bootstrap import (
    encode,
    percentile_ci,
    resampled_class_f1,
    resampled_scores,
    stratified_indices,
)
from tailtune.evaluation.set_runs import set_ci, set_separator, split_matrices
from tailtune.evaluation.splits import pick_split, shared_split, split_model
from tailtune.evaluation.tiers import TIERS, recorded_rule
from tailtune.runs import Run, read_run

__all__ = [
    "SUPPORT_BINS",
    "NoiseReport",
    "support_summary",
    "bootstrap_ci",
    "min_detectable_difference",
    "paired_bootstrap",
    "paired_bootstrap_runs",
    "noise_report",
]

# Validation-support bins for the histogram: (label, low, high) inclusive.
SUPPORT_BINS = [
    ("1", 1, 1), ("2", 2, 2), ("3-5", 3, 5), ("6-10", 6, 10), ("11-20", 11, 20),
    ("21-50", 21, 50), ("51-100", 51, 100), ("101-500", 101, 500), (">500", 501, 10**12),
]  # fmt: skip


@dataclass
class NoiseReport:
    """Everything ``tailtune noise`` prints and the report's noise-floor section shows."""

    run: str
    split: str
    support: dict[str, Any]
    ci: dict[str, Any]
    mdd: dict[str, float]
    paired: dict[str, Any] | None = None
    n_boot: int = 1000
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    tiers_rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


def support_summary(gold, classes=None, *, few: int = 5, tiers=None) -> dict[str, Any]:
    """Per-class evaluation support: histogram, classes with <= ``few`` and exactly 1 example.

    With ``tiers`` (label -> tier, the run's labels.json), ``by_tier`` gives per tier the classes
    present, their examples and how many have <= ``few`` (a class absent from ``tiers`` is tail).

    ``share_few`` is the fraction of the macro average those classes carry: macro F1 weights every
    class present in the gold labels equally, so it is simply their count over the present count.
    Classes listed in ``classes`` but absent from ``gold`` are reported (``absent``) but are not
    in the macro average (they cannot score, see docs/architecture.md).
    """
    labels, counts = np.unique(np.asarray(gold, dtype=str), return_counts=True)
    support = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    n_present = len(support)
    few_cls = sorted((c for c, n in support.items() if n <= few), key=lambda c: (support[c], c))
    one_cls = [c for c in few_cls if support[c] == 1]
    hist = [
        {"bin": name, "n_classes": int(((counts >= lo) & (counts <= hi)).sum())}
        for name, lo, hi in SUPPORT_BINS
    ]
    absent = sorted(set(map(str, classes or [])) - set(support))
    by_tier = None
    if tiers:
        by_tier = {t: {"n_classes": 0, "n_examples": 0, "n_few": 0} for t in TIERS}
        for c, n in support.items():
            row = by_tier[tiers.get(c, "tail")]
            row["n_classes"] += 1
            row["n_examples"] += int(n)
            row["n_few"] += int(n <= few)
    return {
        "n_examples": int(counts.sum()),
        "n_classes": n_present,
        "few": few,
        "n_few": len(few_cls),
        "n_one": len(one_cls),
        "share_few": len(few_cls) / n_present if n_present else 0.0,
        "share_one": len(one_cls) / n_present if n_present else 0.0,
        "few_classes": {c: support[c] for c in few_cls},
        "one_classes": one_cls,
        "absent": absent,
        "histogram": hist,
        "support": support,
        "by_tier": by_tier,
    }


def bootstrap_ci(
    gold, pred, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95, tiers=None
) -> dict[str, dict[str, float]]:
    """Stratified-bootstrap percentile intervals for accuracy and macro F1.

    Returns ``{"accuracy": {...}, "macro_f1": {...}}``, each with ``value`` (on the full set),
    ``low``, ``high``, ``se`` (bootstrap standard deviation) and ``half_width``. With ``tiers``
    (label -> head/mid/tail, a run's labels.json; a label it lacks is tail) the result also has
    ``tiers: {tier: {...}}``, the same interval for each tier's mean F1 over its classes present
    in ``gold`` (the classes ``compute_metrics`` averages), from the same resamples.
    """
    classes, g, (p,) = encode(gold, pred)
    if len(g) == 0:
        raise DataError("bootstrap_ci: no examples to resample")
    idx = stratified_indices(g, n_boot, seed)
    acc, mf1 = resampled_scores(g, p, idx, len(classes))
    full = np.arange(len(g))[None, :]
    acc0, mf10 = resampled_scores(g, p, full, len(classes))
    out = {
        "accuracy": _interval(float(acc0[0]), acc, level),
        "macro_f1": _interval(float(mf10[0]), mf1, level),
    }
    if tiers is not None:
        out["tiers"] = _tier_intervals(g, p, idx, classes, tiers, level)
    return out


def _tier_intervals(g, p, idx, classes, tiers, level) -> dict[str, dict[str, float]]:
    """Per tier: the interval of the mean F1 over the tier's classes present in gold."""
    f1 = resampled_class_f1(g, p, idx, len(classes))
    f1_full = resampled_class_f1(g, p, np.arange(len(g))[None, :], len(classes))[0]
    present = np.bincount(g, minlength=len(classes)) > 0
    tier_of = np.array([tiers.get(c, "tail") for c in classes], dtype=object)
    out = {}
    for tier in TIERS:
        cols = present & (tier_of == tier)
        if cols.any():
            out[tier] = _interval(float(f1_full[cols].mean()), f1[:, cols].mean(axis=1), level)
    return out


def min_detectable_difference(ci: dict[str, dict[str, float]], z: float = 1.96) -> dict[str, float]:
    """The smallest macro-F1 (and accuracy) difference this validation set can resolve at 95%.

    Defined as ``z * sqrt(2) * SE``: the 95% half-width of the difference of two runs of this
    quality whose errors are independent (Var(a - b) = 2·SE² when ρ = 0). Runs that share most
    predictions (one knob changed) have positively correlated errors, so a paired bootstrap
    (``paired_bootstrap``) can separate smaller differences; this number is the conservative
    floor to quote before running the comparison. ``half_width`` is the single run's interval.
    """
    return {
        "macro_f1": float(z * np.sqrt(2.0) * ci["macro_f1"]["se"]),
        "accuracy": float(z * np.sqrt(2.0) * ci["accuracy"]["se"]),
        "macro_f1_half_width": float(ci["macro_f1"]["half_width"]),
    }


def paired_bootstrap(
    gold, pred_a, pred_b, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """Paired stratified bootstrap of ``b - a`` on the same examples (Koehn 2004; Dror et al. 2018).

    Both runs are scored on the SAME resampled rows, so the shared difficulty of an example cancels.
    ``meaningful`` is True when the interval of the macro-F1 difference excludes 0; ``p_le_0`` is
    the share of resamples where b did not beat a (a one-sided bootstrap p-value).
    """
    classes, g, (a, b) = encode(gold, pred_a, pred_b)
    idx = stratified_indices(g, n_boot, seed)
    acc_a, f1_a = resampled_scores(g, a, idx, len(classes))
    acc_b, f1_b = resampled_scores(g, b, idx, len(classes))
    full = np.arange(len(g))[None, :]
    out: dict[str, Any] = {}
    for name, da, db, fa, fb in (
        ("accuracy", acc_a, acc_b, *_point(g, a, b, full, len(classes), 0)),
        ("macro_f1", f1_a, f1_b, *_point(g, a, b, full, len(classes), 1)),
    ):
        diff = db - da
        lo, hi = percentile_ci(diff, level)
        out[name] = {
            "a": fa, "b": fb, "diff": fb - fa, "low": lo, "high": hi,
            "meaningful": bool(lo > 0 or hi < 0), "p_le_0": float((diff <= 0).mean()),
        }  # fmt: skip
    out["n_examples"] = int(len(g))
    out["agreement"] = float((a == b).mean())
    return out


def paired_bootstrap_runs(
    run_a: Run, run_b: Run, *, split: str = "val", n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Paired bootstrap between two runs; raises DataError unless they predicted the same ids.
    Runs on label sets are compared on their label sets (texts resampled whole, set metrics;
    ``accuracy`` is subset accuracy)."""
    if set_separator(run_a) is not None or set_separator(run_b) is not None:
        out = _paired_set_runs(run_a, run_b, split, n_boot=n_boot, seed=seed)
        out.update(a_name=run_a.name, b_name=run_b.name)
        return out
    fa, fb = run_a.split_predictions(split), run_b.split_predictions(split)
    ids_a, ids_b = set(fa["id"]), set(fb["id"])
    if ids_a != ids_b or len(fa) != len(fb):
        raise DataError(
            f"{run_b.path}: its {split} predictions are not on the same examples as {run_a.path} "
            f"({len(ids_a & ids_b)} shared ids of {len(ids_a)} and {len(ids_b)}); "
            "compare runs evaluated on one split"
        )
    fb = fb.set_index("id").loc[fa["id"]].reset_index()
    if not (fa["gold"].to_numpy() == fb["gold"].to_numpy()).all():
        raise DataError(f"{run_b.path}: same ids as {run_a.path} but different gold labels")
    out = paired_bootstrap(fa["gold"], fa["pred"], fb["pred"], n_boot=n_boot, seed=seed)
    out.update(a_name=run_a.name, b_name=run_b.name)
    return out


def noise_report(
    run: Run | str | Path,
    against: Run | str | Path | None = None,
    *,
    split: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    few: int = 5,
) -> NoiseReport:
    """The noise floor of one split of a run, optionally with a paired test against a second run.

    ``split`` None = test when the run has test predictions, else val; with ``against``, the
    split both runs have (test first). A split a run lacks raises DataError naming its splits;
    runs whose predictions on that split are not on the same examples raise DataError too.
    """
    run = run if isinstance(run, Run) else read_run(run)
    other = None
    if against is not None:
        other = against if isinstance(against, Run) else read_run(against)
        split = shared_split([run, other], split)
    split = pick_split(run, split)
    frame = run.split_predictions(split)
    tiers = run.labels.get("tiers") or None
    if set_separator(run) is not None:
        return _set_noise_report(run, other, split, n_boot=n_boot, seed=seed, few=few)
    support = support_summary(frame["gold"], run.labels.get("classes"), few=few, tiers=tiers)
    ci = bootstrap_ci(frame["gold"], frame["pred"], n_boot=n_boot, seed=seed)
    report = NoiseReport(
        run=run.name, split=split, support=support, ci=ci,
        mdd=min_detectable_difference(ci), n_boot=n_boot, seed=seed,
        tiers_rule=recorded_rule(run.labels),
    )  # fmt: skip
    model = split_model(run, split)
    if model:
        report.notes.append(f"{split} predictions are {model}")
    if other is not None:
        report.paired = paired_bootstrap_runs(run, other, split=split, n_boot=n_boot, seed=seed)
        report.paired["split"] = split
    return report


def _set_noise_report(run, other, split, *, n_boot, seed, few) -> NoiseReport:
    """Label sets: support per label (texts carrying it), intervals over texts resampled with
    replacement (a text's labels travel together), and the paired test on the same texts."""

    y, pred, classes, ids = split_matrices(run, split)
    gold = [c for row in y for c, v in zip(classes, row, strict=True) if v]
    tiers = run.labels.get("tiers") or None
    support = support_summary(gold, classes, few=few, tiers=tiers)
    ci = set_ci(y, pred, n_boot=n_boot, seed=seed)
    report = NoiseReport(
        run=run.name, split=split, support=support, ci=ci,
        mdd=min_detectable_difference(ci), n_boot=n_boot, seed=seed,
        tiers_rule=recorded_rule(run.labels),
    )  # fmt: skip
    report.notes.append(
        f"label sets: examples and supports count label assignments ({len(gold):,} on "
        f"{len(ids):,} texts); intervals resample texts; accuracy is subset accuracy"
    )
    if other is not None:
        report.paired = {**_paired_set_runs(run, other, split, n_boot=n_boot, seed=seed),
                         "split": split}  # fmt: skip
    return report


def _paired_set_runs(run_a, run_b, split, *, n_boot, seed) -> dict[str, Any]:
    """Label sets: the paired bootstrap of two runs' sets on the same texts, ``b − a``."""
    from tailtune.evaluation.set_metrics import paired_bootstrap_sets

    if set_separator(run_a) is None or set_separator(run_b) is None:
        raise DataError(f"{run_b.path}: one run predicts label sets and the other single labels; "
                        "compare runs of one kind")  # fmt: skip
    y, pred, classes, ids = split_matrices(run_a, split)
    y2, pred2, classes2, ids2 = split_matrices(run_b, split)
    if sorted(ids2) != sorted(ids) or classes2 != classes:
        raise DataError(f"{run_b.path}: its {split} predictions are not on the same texts and "
                        f"labels as {run_a.path}; compare runs evaluated on one split")  # fmt: skip
    order = {i: r for r, i in enumerate(ids2)}
    rows = [order[i] for i in ids]  # b's rows in a's order
    if not (y2[rows] == y).all():
        raise DataError(f"{run_b.path}: same ids as {run_a.path} but different gold label sets")
    paired = paired_bootstrap_sets(y, pred, pred2[rows], n_boot=n_boot, seed=seed)
    return {"accuracy": paired.pop("subset_accuracy"), **paired, "n_examples": len(ids),
            "agreement": float((pred == pred2[rows]).all(axis=1).mean())}  # fmt: skip


def _interval(value: float, samples: np.ndarray, level: float) -> dict[str, float]:
    lo, hi = percentile_ci(samples, level)
    return {
        "value": value, "low": lo, "high": hi,
        "se": float(np.std(samples, ddof=1)), "half_width": (hi - lo) / 2.0,
    }  # fmt: skip


def _point(g, a, b, full, k, which):
    sa = resampled_scores(g, a, full, k)[which][0]
    sb = resampled_scores(g, b, full, k)[which][0]
    return float(sa), float(sb)

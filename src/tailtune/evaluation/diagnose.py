"""Read a training curve the way a practitioner would: one verdict, the numbers behind it, a next step.

Verdicts, checked in this order (the first that fits wins):

- ``unstable``      a loss is NaN/inf.
- a guard's name    a guard of :mod:`tailtune.guards` fired on the curve (divergence,
                    not-learning, collapsed, identifier-labels, labels-unrelated) or was recorded
                    by the run (leakage): its cause, evidence and what to do come first, and no
                    schedule advice ("keep", "train longer") is given for such a run.
- ``unstable``      the train loss jumps far above its running minimum.
- ``not-learning``  the loss sits within ``lnk_tol`` of ln K (a uniform guess over K classes), or
                    stays flat without ever going below ln(K - 1 + e) - 1, the lowest value
                    cross-entropy can take when fed probabilities instead of logits: the
                    signature of softmax applied before cross-entropy. Not when the guards'
                    figures put validation above chance (that is learning), nor on label sets.
- ``undertrained``  one evaluation only, or validation loss still falling at the end.
- ``data-starved``  validation loss rising past its minimum on a small training set (few batches
                    per epoch or few examples per class); macro F1 plateaus early — "tempered
                    overfitting" (Mallinar et al. 2022): calibration worsens, predictions do not.
- ``overtrained``   validation loss rising past its minimum with enough data; best epoch named.
- ``well-trained``  validation loss flat at its minimum near the end.

A run's curves (``history.jsonl``) are validation curves of the selection phase: the model
that chose its checkpoint on validation. When a run is read on its test split, the diagnosis
still reads those curves, says so, and shows the test figures beside them (from the refit
model, when the run refit on train + validation).
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tailtune.errors import DataError
from tailtune.evaluation.compare import compare_runs, comparison_split
from tailtune.evaluation.set_runs import set_separator
from tailtune.evaluation.splits import pick_split, split_model, split_name
from tailtune.guards import Finding, check_history, first_finding, prior_entropy
from tailtune.runs import Run, is_run_dir, read_run

__all__ = [
    "Diagnosis",
    "compare_runs",
    "diagnose_history",
    "diagnose_many",
    "diagnose_path",
    "diagnose_run",
    "load_log",
    "softmax_ce_floor",
    "split_figures",
]

NEXT_STEP = {
    "unstable": "Lower the learning rate (or cap class weights: raw inverse weights blow up), "
    "add warmup and gradient clipping, and check the data for empty or corrupt rows.",
    "not-learning": "Check the loss: cross-entropy expects raw logits — remove any softmax "
    "before it. Then check that labels match the inputs and that the learning rate is not 0.",
    "undertrained": "Train longer (more epochs) with early stopping on macro F1, patience 2-3.",
    "data-starved": "More data, not fewer epochs: add examples (or a smaller / frozen model, "
    "an embedding head). Rising val loss here is overconfidence; macro F1 hit its ceiling early.",
    "overtrained": "Keep the best checkpoint and stop earlier (early stopping on macro F1, "
    "patience 2-3); if the training set is small, this is data-starved: get more data.",
    "well-trained": "Keep this schedule; improve the tail with the objective (sqrt-inverse "
    "weights, logit adjustment) and compare against the noise floor.",
}

# the causes a guard gives for validation at chance: one at a time, the whole curve decides (a
# run that learned nothing for a while and then memorised its rows has memorised them)
AT_CHANCE = ("not-learning", "identifier-labels", "labels-unrelated")

_LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "accuracy", "macro_f1")


@dataclass
class Diagnosis:
    """A verdict on one training curve, with the numbers it was read from."""

    verdict: str
    evidence: dict[str, Any]
    next_step: str
    lowest_loss_at: float | None = None  # the epoch/step of the lowest validation loss
    reasons: list[str] = field(default_factory=list)
    curves: str | None = None  # what the curves are (a run's: validation, selection phase)
    guards: list[dict] = field(default_factory=list)  # every guard finding (tailtune.guards)
    best_at: float | None = None  # "best" = the checkpoint early stopping kept (runs only)
    figures: dict[str, Any] | None = None  # the chosen split's final figures (split_figures)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


def diagnose_history(
    history: list[dict] | pd.DataFrame,
    *,
    n_classes: int | None = None,
    train_size: int | None = None,
    batches_per_epoch: float | None = None,
    lnk_tol: float = 0.02,
    rise_tol: float = 0.03,
    rise_abs: float = 0.01,
    fall_tol: float = 0.02,
    starved_batches: float = 300,
    starved_per_class: float = 50,
    train_counts: dict | None = None,
    recorded: list[dict] | None = None,
    label_sets: bool = False,
) -> Diagnosis:
    """Classify a history (one row per evaluation) into a verdict; see the module docstring.

    ``rise_tol``: validation loss counts as rising when its last value exceeds its minimum by
    this fraction (for example 1.6 over a minimum of 1.5 is +6.7% → overtrained)
    and by at least ``rise_abs`` nats: near zero loss a relative rise is noise (ATIS: 0.018 →
    0.019 is +10% but 0.002 nats).
    ``fall_tol``: still falling when the last step lowered it by more than this fraction.
    Data-starved needs evidence of a small training set: fewer than ``starved_batches`` batches
    per epoch (e.g. 157 against 1,808 for a full-size run) or fewer than ``starved_per_class`` examples per
    class on average; without it, a curve-only reading says overtrained and the next step says so.
    ``train_counts`` (class -> training rows) gives the guards the prior entropy; ``recorded``
    adds the findings a run recorded while training (metrics.json ``guards``). ``label_sets``:
    a run on label sets (binary cross-entropy per label), read by the guards alone: the ln K
    and softmax-floor readings belong to single-label cross-entropy.
    """
    h = _frame(history)
    x = "epoch" if "epoch" in h and h["epoch"].notna().all() else "step"
    if x not in h:
        h[x] = range(1, len(h) + 1)
    ev: dict[str, Any] = {"n_evals": len(h), "x": x, "last_" + x: _num(h[x].iloc[-1])}
    if batches_per_epoch is None:
        batches_per_epoch = _batches_per_epoch(h)
    if batches_per_epoch is not None:
        ev["batches_per_epoch"] = round(float(batches_per_epoch), 1)
    if train_size is not None:
        ev["train_size"] = int(train_size)
        if n_classes:
            ev["train_per_class"] = round(train_size / n_classes, 1)

    def done(verdict: str, best: float | None = None, *reasons: str) -> Diagnosis:
        return Diagnosis(verdict, ev, NEXT_STEP[verdict], best, list(reasons))

    losses = [c for c in ("train_loss", "val_loss") if c in h and h[c].notna().any()]
    if not losses:
        raise DataError("history: no train_loss or val_loss values to read a curve from")
    bad = [
        (c, _num(h[x].iloc[i]))
        for c in losses
        for i, v in enumerate(h[c])
        if v is not None and not math.isfinite(v)
    ]
    if bad:
        ev["non_finite"] = bad[:5]
        return done("unstable", None, f"{bad[0][0]} is {h[bad[0][0]].iloc[0]} at {x} {bad[0][1]}")
    flagged = _guarded(h, ev, n_classes, None if label_sets else train_counts, recorded,
                       label_sets)  # fmt: skip
    if flagged is not None:
        return flagged
    spike = _spike(h["train_loss"].dropna().tolist()) if "train_loss" in h else None
    if spike is not None:
        ev["train_loss_spike"] = {
            x: _num(h[x].iloc[spike[0]]),
            "loss": spike[1],
            "min_before": spike[2],
        }
        return done("unstable", None, f"train loss jumps to {spike[1]:.3g} after {spike[2]:.3g}")

    ref = "train_loss" if "train_loss" in losses else "val_loss"
    curve = h[ref].dropna().astype(float)
    first, last_loss = float(curve.iloc[0]), float(curve.iloc[-1])
    # validation measurably above chance (the guards' bootstrap figures) is learning, whatever
    # the training loss's distance to ln K says (one epoch's mean from random weights sits there)
    if n_classes and n_classes > 1 and not label_sets and not _above_chance(h):
        lnk, floor = math.log(n_classes), softmax_ce_floor(n_classes)
        ev.update(ln_k=round(lnk, 4), softmax_ce_floor=round(floor, 4))
        ev["last_" + ref] = round(last_loss, 4)
        ev["distance_to_ln_k"] = round(abs(last_loss - lnk) / lnk, 4)
        if ev["distance_to_ln_k"] <= lnk_tol:
            return done("not-learning", None, f"{ref} {last_loss:.3f} ≈ ln {n_classes} = {lnk:.3f}")
        step = abs(float(curve.iloc[-2]) - last_loss) / last_loss if len(curve) > 1 else 1.0
        if len(curve) > 1 and float(curve.min()) >= floor and step <= lnk_tol:
            return done("not-learning", None, f"{ref} flat at {last_loss:.3f}, never below "
                        f"{floor:.3f}, the lowest loss cross-entropy reaches on probabilities")  # fmt: skip
    if len(curve) >= 3 and abs(first - last_loss) <= lnk_tol * first and not _above_chance(h):
        ev["relative_change"] = round((first - last_loss) / first, 4)
        return done("not-learning", None, f"{ref} flat: {first:.3f} → {last_loss:.3f}")

    if "val_loss" not in losses:
        return _without_val(h, x, ev, done, fall_tol)
    val = h["val_loss"].astype(float)
    i_min = int(val.idxmin())
    best = _num(h[x].iloc[i_min])
    ev.update(
        lowest_val_loss=round(float(val.iloc[i_min]), 4),
        last_val_loss=round(float(val.iloc[-1]), 4),
    )
    ev["lowest_val_loss_" + x] = best
    _f1_evidence(h, x, ev)
    if len(h) == 1:
        return done("undertrained", best, "a single evaluation: nothing shows the curve flattening")
    last_fall = (val.iloc[-2] - val.iloc[-1]) / val.iloc[-2]
    ev["last_val_change"] = round(float(-last_fall), 4)
    rise = (val.iloc[-1] - val.iloc[i_min]) / val.iloc[i_min]
    ev["val_rise_from_min"] = round(float(rise), 4)
    rise_nats = float(val.iloc[-1] - val.iloc[i_min])
    if i_min == len(h) - 1 and last_fall > fall_tol:
        return done("undertrained", best, f"val loss still falling at the end ({-last_fall:+.1%})")
    if rise > rise_tol and rise_nats >= rise_abs:
        if _small(ev, batches_per_epoch, train_size, n_classes, starved_batches, starved_per_class):
            return done("data-starved", best,
                        f"val loss +{rise:.1%} above its minimum at {x} {best} on a small training set")  # fmt: skip
        return done("overtrained", best, f"val loss +{rise:.1%} above its minimum at {x} {best}")
    return done(
        "well-trained", best,
        f"val loss within {rise_tol:.0%} or {rise_abs} nats of its minimum at the end",
    )  # fmt: skip


def _guarded(h, ev, n_classes, train_counts, recorded, label_sets=False) -> Diagnosis | None:
    """The guard verdict when a guard fired: the first finding by rank, every finding kept.
    The curve is read as a finished one (``final``): no verdict waits for a trend."""
    found = {f["guard"]: Finding.from_dict(f) for f in recorded or []}
    if n_classes and n_classes > 1:
        rows = h.where(h.notna(), None).to_dict("records")
        prior = prior_entropy(train_counts) if train_counts else None
        for f in check_history(rows, n_classes=n_classes, prior_entropy=prior,
                               train_counts=train_counts, final=True):  # fmt: skip
            if f.guard in AT_CHANCE and not (f.guard == "labels-unrelated"
                                             and "identifier-labels" in found):  # fmt: skip
                # the whole curve says why validation is at chance (identifier-like labels
                # are memorised labels named more precisely, from the class counts)
                found = {g: x for g, x in found.items() if g not in AT_CHANCE}
            found.setdefault(f.guard, f)
    first = first_finding(list(found.values()))
    if first is None:
        return None
    if n_classes and n_classes > 1 and not label_sets:
        ev.update(ln_k=round(math.log(n_classes), 4),
                  softmax_ce_floor=round(softmax_ce_floor(n_classes), 4))  # fmt: skip
    ev.update({f"guard_{k}": v for k, v in first.evidence.items()})
    return Diagnosis(first.guard, ev, first.what_to_do, None, [first.cause],
                     guards=[f.to_dict() for f in found.values()])  # fmt: skip


def _above_chance(h: pd.DataFrame) -> bool:
    """The last evaluation's macro F1 interval lies above the chance figure."""
    if not {"macro_f1_low", "chance_macro_f1"} <= set(h.columns):
        return False
    low, chance = h["macro_f1_low"].iloc[-1], h["chance_macro_f1"].iloc[-1]
    return bool(pd.notna(low) and pd.notna(chance) and low > chance)


def softmax_ce_floor(n_classes: int) -> float:
    """The smallest cross-entropy reachable when softmax is applied before it: ln(K - 1 + e) - 1.

    ``F.cross_entropy(softmax(x), y)`` sees inputs in [0, 1]; its best case is a one-hot input
    on the right class, -1 + ln(e + K - 1). For K = 113 that is 3.74 (ln K = 4.73): a curve stuck
    between the two never learned (the classic bug of applying softmax before CrossEntropyLoss).
    """
    return math.log(n_classes - 1 + math.e) - 1.0


def load_log(path: str | Path) -> pd.DataFrame:
    """Read a plain training log (CSV, JSON list, or JSON lines) of per-epoch numbers.

    Columns: ``epoch, train_loss, val_loss, accuracy, macro_f1`` (``f1`` / ``val_f1`` /
    ``val_accuracy`` / ``eval_loss`` are accepted as aliases); at least one loss is required.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: log file not found")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix in (".json", ".jsonl") or text.lstrip()[:1] in "[{":
            rows = json.loads(text) if text.lstrip().startswith("[") else [
                json.loads(line) for line in text.splitlines() if line.strip()
            ]  # fmt: skip
            frame = pd.DataFrame(rows)
        else:
            frame = pd.read_csv(p, sep=None, engine="python")
    except (ValueError, json.JSONDecodeError) as exc:
        raise DataError(f"{p}: not a CSV or JSON training log ({exc})") from exc
    frame.columns = [
        str(c).strip().lower().replace(" ", "_").replace("-", "_") for c in frame.columns
    ]
    frame = frame.rename(columns={
        "f1": "macro_f1", "val_f1": "macro_f1", "val_macro_f1": "macro_f1", "eval_loss": "val_loss",
        "val_accuracy": "accuracy", "val_acc": "accuracy", "loss": "train_loss",
    })  # fmt: skip
    if not {"train_loss", "val_loss"} & set(frame.columns):
        raise DataError(f"{p}: no train_loss or val_loss column (has {', '.join(frame.columns)})")
    return frame


def diagnose_run(run: Run | str | Path, *, split: str | None = None, **kwargs) -> Diagnosis:
    """Diagnose a run directory's history, taking K, train size and batches/epoch from the run.

    The curves are validation curves of the selection phase whatever ``split`` is; the
    diagnosis carries ``split``'s final figures beside them (:func:`split_figures`; None =
    test when the run has test predictions, else val).
    """
    run = run if isinstance(run, Run) else read_run(run)
    split = pick_split(run, split) if len(run.predictions) else split
    if not run.history:
        raise DataError(f"{run.path}: no history.jsonl (only neural runs record a training curve)")
    kwargs.setdefault("n_classes", len(run.labels.get("classes", [])) or None)
    kwargs.setdefault("train_size", run.metrics.get("train_size"))
    kwargs.setdefault("train_counts", run.labels.get("train_counts"))
    kwargs.setdefault("recorded", run.metrics.get("guards"))
    kwargs.setdefault("label_sets", set_separator(run) is not None)
    diagnosis = diagnose_history(run.history, **kwargs)
    diagnosis.best_at = _kept_at(run, diagnosis.evidence.get("x", "step"))
    diagnosis.curves = "validation curves of the selection phase (history.jsonl)"
    if split is not None:
        diagnosis.figures = split_figures(run, split)
    return diagnosis


def _kept_at(run: Run, x: str) -> float | None:
    """The epoch (or step) of the checkpoint early stopping kept: the run's "best"."""
    info = (run.metrics.get("refit") or {}).get("selection_info") or run.metrics.get("info") or {}
    step = info.get("best_step")
    row = next((r for r in run.history if r.get("step") == step), None) if step else None
    return None if row is None else _num(row.get(x, step))


def split_figures(run: Run, split: str) -> dict[str, Any] | None:
    """``split``'s final figures from metrics.json: accuracy, macro F1, zero-F1, examples, and
    which model scored it (``split_model``); None when metrics.json has no such split."""
    m = run.metrics.get(split)
    if not isinstance(m, dict) or "macro_f1" not in m:
        return None
    return {
        "split": split,
        "name": split_name(split),
        "accuracy": m.get("accuracy"),
        "macro_f1": m.get("macro_f1"),
        "zero_f1": m.get("zero_f1"),
        "n_classes": m.get("n_classes"),
        "n_examples": m.get("n_examples"),
        "model": split_model(run, split),
    }


def diagnose_path(path: str | Path, **kwargs) -> Diagnosis:
    """``tailtune diagnose RUN|LOG``: a run directory or a plain CSV/JSON log."""
    p = Path(path)
    if p.is_dir() and is_run_dir(p):
        return diagnose_run(p, **kwargs)
    return diagnose_history(load_log(p), **kwargs)


def diagnose_many(
    paths, *, split: str | None = None, **kwargs
) -> tuple[list[tuple[str, Diagnosis | None, str | None]], list[dict]]:
    """``tailtune diagnose RUN|LOG [RUN|LOG ...] [--split]``: one diagnosis per path, plus the
    pair flags.

    Returns ``([(name, diagnosis or None, error or None), ...], compare_runs flags)``; a run
    without a history gets no diagnosis but still takes part in the comparison. Logs compare
    on their last row (``accuracy``, ``macro_f1``, ``zero_f1`` when present). Each run's
    diagnosis carries ``split``'s figures (None: test when it has one, else val); an explicit
    ``split`` a run lacks raises DataError. Runs compare on the split they share (test first).
    """
    results, summaries = [], []
    by_path: dict[Path, Run] = {}
    for p in map(Path, paths):
        if p.is_dir() and is_run_dir(p):
            with contextlib.suppress(DataError):  # reported in its row below
                by_path[p] = read_run(p)
    runs = list(by_path.values())
    if split is not None:
        for run in runs:
            pick_split(run, split)
    for path in paths:
        p = Path(path)
        try:
            if p.is_dir() and is_run_dir(p):
                run = by_path.get(p) or read_run(p)
                summaries.append(run)
                results.append((run.name, diagnose_run(run, split=split, **kwargs) if run.history
                                else None, None if run.history else "no history (not a neural run)"))  # fmt: skip
            else:
                log = load_log(p)
                results.append((p.stem, diagnose_history(log, **kwargs), None))
                last = log.iloc[-1]
                if {"accuracy", "macro_f1"} <= set(log.columns):
                    summaries.append(
                        (
                            p.stem,
                            {k: last[k] for k in ("accuracy", "macro_f1", "zero_f1") if k in log},
                        )
                    )
        except DataError as exc:
            results.append((p.name, None, str(exc)))
    if len(summaries) < 2:
        return results, []
    return results, compare_runs(summaries, split=comparison_split(runs, split))


# -- helpers -------------------------------------------------------------------------------


def _frame(history) -> pd.DataFrame:
    h = history.copy() if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
    if h.empty:
        raise DataError("history: no evaluations recorded")
    for c in ("train_loss", "val_loss", "accuracy", "macro_f1", "epoch", "step"):
        if c in h:
            h[c] = pd.to_numeric(h[c], errors="coerce").astype(float)
    return h.reset_index(drop=True)


def _num(v: Any) -> float | int:
    v = float(v)
    return int(v) if v.is_integer() else round(v, 3)


def _batches_per_epoch(h: pd.DataFrame) -> float | None:
    if "step" not in h or "epoch" not in h:
        return None
    last = h.iloc[-1]
    if not (last["epoch"] > 0 and last["step"] > 0):
        return None
    return float(last["step"] / last["epoch"])


def _spike(train: list[float]) -> tuple[int, float, float] | None:
    """First train loss more than 50% above its running minimum (and not a flat near-zero wiggle)."""
    if len(train) < 3:
        return None
    span = max(train[0] - min(train), 1e-12)
    for i in range(2, len(train)):
        low = min(train[:i])
        if train[i] > 1.5 * low and train[i] - low > 0.25 * span:
            return i, float(train[i]), float(low)
    return None


def _f1_evidence(h: pd.DataFrame, x: str, ev: dict[str, Any]) -> None:
    for c in ("accuracy", "macro_f1"):
        if c in h and h[c].notna().any():
            ev["last_" + c] = round(float(h[c].dropna().iloc[-1]), 4)
    if "macro_f1" in h and h["macro_f1"].notna().any():
        f1 = h["macro_f1"].astype(float)
        i_best = int(f1.idxmax())
        ev["highest_macro_f1"] = round(float(f1.iloc[i_best]), 4)
        ev["highest_macro_f1_" + x] = _num(h[x].iloc[i_best])
        # Plateau: the first evaluation within 0.01 of the best macro F1 (early = ceiling hit).
        ev["macro_f1_plateau_" + x] = _num(h[x].iloc[int((f1 >= f1.max() - 0.01).idxmax())])


def _small(ev, batches, train_size, n_classes, max_batches, min_per_class) -> bool:
    few_batches = batches is not None and batches < max_batches
    few_examples = bool(train_size and n_classes and train_size / n_classes < min_per_class)
    ev["small_training_set"] = few_batches or few_examples
    return ev["small_training_set"]


def _without_val(h, x, ev, done, fall_tol) -> Diagnosis:
    train = h["train_loss"].astype(float)
    if len(h) == 1:
        return done("undertrained", None, "a single evaluation and no validation loss")
    fall = (train.iloc[-2] - train.iloc[-1]) / train.iloc[-2]
    ev["last_train_change"] = round(float(-fall), 4)
    if fall > fall_tol:
        return done("undertrained", None, f"train loss still falling ({-fall:+.1%}), no val loss")
    return done("well-trained", None, "train loss flat; no val loss to check for overtraining")

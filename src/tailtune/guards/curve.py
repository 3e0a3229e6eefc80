"""Guards read from a training history (one dict per evaluation), live or afterwards.

Every threshold is a figure of the data (see :mod:`tailtune.guards.reference`). H(π) below
is the prior predictor's loss, the history's ``prior_loss`` where it has one: the best constant
prediction in the run's own loss (:mod:`tailtune.training.watch`; the prior entropy under
plain cross-entropy, lower under class weights, smoothing or logit adjustment):

- divergence: a training loss above 2·ln K (twice the loss of a uniform guess: confidently
  wrong) at an evaluation after the first (the first one's mean includes the steps from random
  weights, where a high learning rate may overshoot and recover), or one that rose more than
  ln K / 2 nats above its running minimum;
- not-learning: after a full epoch, the training loss is not 2% below the prior-predictor loss
  H(π) (measured on the training batches when the history has it) and no longer falls (by 2%
  over the last epoch: :func:`_falling`); or validation is at chance without the memorising below,
  once the training loss no longer falls or training has ended (``final``). At chance: on the
  last two evaluations the bootstrap interval of macro F1 reaches the chance figure and the
  validation loss is not two standard errors below the prior predictor's on the same rows;
- labels-unrelated: validation at chance while the model fits its training rows better than it
  predicts validation rows, both measured against the prior predictor on the same rows: the
  training gain H(π) − train loss exceeds the validation gain (prior loss − loss on the
  validation rows) by more than three standard errors of the validation gain (two standard
  errors of the difference even when training has no more rows than validation). The model
  memorises labels it cannot predict, as networks do on random labels (Zhang et al. 2017,
  "Understanding deep learning requires rethinking generalization"). The gap is the evidence,
  whatever the trend, so it fires as soon as it shows. The training loss is a mean over the
  epoch while the model improves, so a model that generalises shows a training loss above its
  end-of-epoch validation loss: the gap only opens on rows the model remembers. A training
  loss 10% below H(π) at chance says the same without the gap (small validation sets, older
  runs and plain logs without the validation reference); once training has ended, any training
  loss below H(π) by more than the 2% a flat loss wanders does (the loss fell below the prior
  on rows it saw before, and nothing of it reaches validation);
- identifier-labels: the same, on a label whose classes have a median of 3 training rows or
  fewer: the label names rows (an id), not something the text says;
- collapsed: on the last two evaluations, 90% of the predictions fall in fewer classes than a
  fifth of those holding 90% of the gold labels (and in fewer classes than the gold labels),
  and the most predicted class gets at least twice its share of the prior and is not the
  prior's unique majority class: predicting the majority class for every row is what a model
  that learned nothing does under cross-entropy (the at-chance guards name its cause); piling
  onto another class is a collapse (class weights, a sampler, a bias). On label sets the same
  rule reads sets of labels (the empty set included; :mod:`tailtune.guards.sets`).

Nothing fires before the second evaluation: one point is no trend. Only divergence fires
before the first full epoch (unless training ended there): until every training row has been
seen once, the training loss is a loss on rows new to the model, so no gap can show
memorising, and with frequent evaluations (``train.eval_every``) the answers of a few dozen
steps say nothing about collapse or chance.
"""

from __future__ import annotations

import math
from statistics import median

from tailtune.guards.finding import Finding
from tailtune.guards.reference import ln_k

__all__ = ["check_history", "WHAT_TO_DO"]

WHAT_TO_DO = {
    "divergence": "Lower the learning rate (10x), keep warmup and gradient clipping on "
    "(train.grad_clip), and cap class weights (objective.weight_cap); the figures of this run "
    "do not describe the setup.",
    "not-learning": "A short run can end before it learns: if it took few optimizer steps "
    "(the step it was judged at), train more epochs or on more rows first. Then check that the "
    "labels belong to the texts, that the learning rate is not tiny and the head is trainable, "
    "that the loss gets raw logits (no softmax before cross-entropy) and that the texts are not "
    "empty after truncation.",
    "labels-unrelated": "Check that the label column belongs to the text column (a shuffled or "
    "misaligned join, a wrong column) and that the text can express the label; more training "
    "only memorises further.",
    "identifier-labels": "Pick a label that groups texts (a category, not an id); with 2-3 rows "
    "per class a classifier cannot generalise to rows it has not seen.",
    "collapsed": "Lower the learning rate, the class weights or the logit-adjustment strength "
    "and check the sampler; compare predicted and gold class counts with `tailtune errors`.",
}

UNRELATED_DROP = 0.10  # without a validation reference: the training loss this far below H(π)
GAP_SE = 3.0  # standard errors of the validation gain the memorising gap must exceed
CHANCE_SE = 2.0  # a validation loss this many standard errors below the prior's: not chance
FLAT_DROP = 0.02  # not this share below H(π): it learned nothing
ID_ROWS = 3  # median training rows per class of an identifier-like label


def check_history(history, *, n_classes: int, prior_entropy: float | None = None,
                  train_counts=None, final: bool = False) -> list[Finding]:  # fmt: skip
    """Every guard finding on ``history`` (one per guard, the earliest evaluation it shows on).

    ``prior_entropy`` stands in for a record's measured ``prior_loss``; ``train_counts`` (class
    -> training rows) lets an identifier-like label be told apart from unrelated labels;
    ``final``: training has ended, so a verdict that waits for the trend is given now.
    """
    rows = [r for r in history if _finite(r.get("train_loss")) or _finite(r.get("val_loss"))]
    if len(rows) < 2 or not n_classes or n_classes < 2:
        return []
    found = [f for f in (_divergence(rows, n_classes),) if f]
    if found:  # a diverged run explains everything else it shows
        return found
    if not final and not _full_epoch(rows[-1]):
        # within the first epoch every training batch is new to the model: its training loss
        # is a held-out loss (no gap can show memorising yet), its answers a few dozen steps old
        return []
    # the most specific cause first: a flat loss, then a collapse (which puts a small label
    # set at chance too), then what being at chance means given the training loss; a flat
    # training loss on memorised rows is still memorising (labels-unrelated)
    chance = _at_chance(rows)
    memorised = _memorised(rows[-1], prior_entropy, final) if chance else None
    for finding in (None if memorised else _flat(rows, prior_entropy), _collapsed(rows),
                    _at_chance_cause(rows, prior_entropy, train_counts, chance, memorised,
                                     final)):  # fmt: skip
        if finding is not None:
            return [finding]
    return []


def _divergence(rows, n_classes) -> Finding | None:
    running = math.inf
    for i, r in enumerate(rows):
        loss = r.get("train_loss")
        if not _finite(loss):
            continue
        uniform = r.get("uniform_loss") or ln_k(n_classes)
        # the first evaluation's mean covers the steps from random weights: a start far above
        # the uniform loss that is gone by the next evaluation is a transient, not a divergence
        if i > 0 and loss > 2 * uniform:
            return _finding("divergence", "the training loss is far above the loss of a uniform "
                            "guess: the model is confidently wrong", r,
                            train_loss=loss, uniform_loss=uniform, limit=2 * uniform)  # fmt: skip
        if loss - running > uniform / 2:
            return _finding("divergence", "the training loss rose sharply above its minimum", r,
                            train_loss=loss, min_before=running, rise_limit=uniform / 2)  # fmt: skip
        running = min(running, loss)
    return None


def _flat(rows, prior_entropy) -> Finding | None:
    last = rows[-1]
    train, prior = last.get("train_loss"), last.get("prior_loss") or prior_entropy
    if (_finite(train) and prior and _full_epoch(last) and train >= (1 - FLAT_DROP) * prior
            and not _falling(rows)):  # fmt: skip
        return _finding("not-learning", "the training loss is not below the loss of always "
                        "predicting the class prior", last, train_loss=train, prior_loss=prior,
                        **(_at_chance(rows) or {}))  # fmt: skip
    return None


def _at_chance_cause(rows, prior_entropy, train_counts, chance, memorised,
                     final) -> Finding | None:  # fmt: skip
    if chance is None:
        return None
    last = rows[-1]
    train, prior = last.get("train_loss"), last.get("prior_loss") or prior_entropy
    if not _finite(train) or not prior:
        return _finding("not-learning", "validation is indistinguishable from chance", last,
                        **chance)  # fmt: skip
    if memorised is None:
        if train < (1 - FLAT_DROP) * prior or (_falling(rows) and not final):
            return None  # memorising or learning: the next evaluations tell
        return _finding("not-learning", "validation is indistinguishable from chance and the "
                        "training loss is not below the prior predictor's: nothing this model "
                        "learns from the texts predicts these labels", last,
                        train_loss=train, prior_loss=prior, **chance)  # fmt: skip
    rows_per_class = median(train_counts.values()) if train_counts else None
    if rows_per_class is not None and rows_per_class <= ID_ROWS:
        return _finding("identifier-labels", "the label looks like an identifier: its classes "
                        f"have a median of {rows_per_class:g} training rows each and validation is at "
                        "chance", last,
                        median_rows_per_class=rows_per_class, n_classes=len(train_counts),
                        **chance)  # fmt: skip
    return _finding("labels-unrelated", "the model fits its training rows while validation "
                    "stays at chance: labels are memorised, not predicted from the text", last,
                    **memorised, **chance)  # fmt: skip


def _memorised(last: dict, prior_entropy, final: bool) -> dict | None:
    """Evidence that the model fits its training rows but not validation rows: the gap
    between its gains over the prior predictor on each (module docstring), or a training
    loss well below H(π) (10%; once training has ended, below it by more than the 2% a flat
    loss wanders); None without it."""
    train, prior = last.get("train_loss"), last.get("prior_loss") or prior_entropy
    if not _finite(train) or not prior:
        return None
    evidence = {"train_loss": train, "prior_loss": prior}
    val, val_prior, se = (last.get(k) for k in ("val_loss", "val_prior_loss", "val_gain_se"))
    gap_shown = False
    if all(_finite(v) for v in (val, val_prior, se)):
        gap = (prior - train) - (val_prior - val)
        gap_shown = gap > GAP_SE * se
        evidence.update(val_loss=val, val_prior_loss=val_prior, gap=gap, gap_limit=GAP_SE * se)
    below = train < (1 - (FLAT_DROP if final else UNRELATED_DROP)) * prior
    return evidence if gap_shown or below else None


def _at_chance(rows) -> dict | None:
    """Evidence when the last two evaluations are both indistinguishable from chance: the
    macro F1 interval reaches the chance figure and, where the history has the reference, the
    validation loss is not below the prior predictor's by two standard errors (a model whose
    probabilities beat the prior on unseen rows learned something from the texts)."""
    tail = rows[-2:]
    if not all("macro_f1_low" in r and "chance_macro_f1" in r for r in tail):
        return None
    if any(r["macro_f1_low"] > r["chance_macro_f1"] or _beats_prior(r) for r in tail):
        return None
    last = tail[-1]
    return {"val_macro_f1": last.get("macro_f1"), "macro_f1_low": last["macro_f1_low"],
            "chance_macro_f1": last["chance_macro_f1"]}  # fmt: skip


def _beats_prior(r: dict) -> bool:
    val, val_prior, se = (r.get(k) for k in ("val_loss", "val_prior_loss", "val_gain_se"))
    return all(_finite(v) for v in (val, val_prior, se)) and val_prior - val > CHANCE_SE * se


def _collapsed(rows) -> Finding | None:
    tail = rows[-2:]
    if not all("pred_cover" in r and "gold_cover" in r for r in tail):
        return None
    if not all(r["pred_cover"] < r["gold_cover"] and r["pred_cover"] <= max(1, r["gold_cover"] / 5)
               and r.get("pred_top_share", 1) >= 2 * r.get("pred_top_prior", 0)
               and not r.get("pred_top_is_majority", False)
               for r in tail):  # fmt: skip
        return None
    last = tail[-1]
    return _finding("collapsed", "almost every validation row is predicted as one of a few "
                    "classes", last, predicted_classes_90pct=last["pred_cover"],
                    gold_classes_90pct=last["gold_cover"],
                    top_class_predicted=last.get("pred_top_share"),
                    top_class_prior=last.get("pred_top_prior"))  # fmt: skip


def _finding(guard: str, cause: str, row: dict, **evidence) -> Finding:
    ev = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in evidence.items()
          if v is not None}  # fmt: skip
    return Finding(guard, cause, ev, WHAT_TO_DO[guard], row.get("step"))


def _falling(rows) -> bool:
    """Whether the training loss fell by more than 2% over the last epoch: against the latest
    evaluation at least an epoch before the last one, so that evaluating every few steps
    (``train.eval_every``) does not make a loss that falls slowly per evaluation look flat;
    with one evaluation an epoch, the previous one. No evaluation an epoch back yet: the trend
    is not known, and it counts as falling (the verdicts that wait for it wait)."""
    last = rows[-1]
    before = rows[-2]
    if _finite(last.get("epoch")) and all(_finite(r.get("epoch")) for r in rows[:-1]):
        earlier = [r for r in rows[:-1] if r["epoch"] <= last["epoch"] - 1 + 1e-9]
        if not earlier:
            return True
        before = earlier[-1]
    b, a = before.get("train_loss"), last.get("train_loss")
    return _finite(b) and _finite(a) and a < (1 - FLAT_DROP) * b


def _full_epoch(row: dict) -> bool:
    """Whether the model has seen every training row once (unknown epoch: assumed)."""
    return row.get("epoch") is None or row["epoch"] >= 1


def _finite(v) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)

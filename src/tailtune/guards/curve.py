"""Guards read from a training history (one dict per evaluation), live or afterwards.

Every threshold is a figure of the data (see :mod:`tailtune.guards.reference`):

- divergence: a training loss above 2·ln K (twice the loss of a uniform guess: confidently
  wrong), or one that rose more than ln K / 2 nats above its running minimum;
- not-learning: after a full epoch, the training loss is not 2% below the prior-predictor loss
  H(π) (measured on the training batches when the history has it), or validation is at chance
  while the training loss is not 10% below H(π); either only once the training loss no longer
  falls (by 2% from one evaluation to the next);
- labels-unrelated: validation at chance (the bootstrap interval of macro F1 reaches the chance
  figure) while the training loss fell 10% or more below H(π): the model memorises labels it
  cannot predict, as networks do on random labels (Zhang et al. 2017, "Understanding deep
  learning requires rethinking generalization");
- identifier-labels: the same, on a label whose classes have a median of 3 training rows or
  fewer: the label names rows (an id), not something the text says;
- collapsed: on the last two evaluations, 90% of the predictions fall in fewer classes than a
  fifth of those holding 90% of the gold labels (and in fewer classes than the gold labels),
  and the most predicted class gets at least twice its share of the prior: following the
  prior's majority class is what chance does (the at-chance guards speak for it), going beyond
  it is a collapse (class weights, a sampler, a bias).

Nothing fires before the second evaluation: one point is no trend.
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
    "not-learning": "Check that the labels belong to the texts, that the learning rate is not "
    "tiny and the head is trainable, that the loss gets raw logits (no softmax before "
    "cross-entropy) and that the texts are not empty after truncation.",
    "labels-unrelated": "Check that the label column belongs to the text column (a shuffled or "
    "misaligned join, a wrong column) and that the text can express the label; more training "
    "only memorises further.",
    "identifier-labels": "Pick a label that groups texts (a category, not an id); with 2-3 rows "
    "per class a classifier cannot generalise to rows it has not seen.",
    "collapsed": "Lower the learning rate, the class weights or the logit-adjustment strength "
    "and check the sampler; compare predicted and gold class counts with `tailtune errors`.",
}

UNRELATED_DROP = 0.10  # the training loss fell this share below H(π): it learned something
FLAT_DROP = 0.02  # not this share below H(π): it learned nothing
ID_ROWS = 3  # median training rows per class of an identifier-like label


def check_history(history, *, n_classes: int, prior_entropy: float | None = None,
                  train_counts=None) -> list[Finding]:  # fmt: skip
    """Every guard finding on ``history`` (one per guard, the earliest evaluation it shows on).

    ``prior_entropy`` stands in for a record's measured ``prior_loss``; ``train_counts`` (class
    -> training rows) lets an identifier-like label be told apart from unrelated labels.
    """
    rows = [r for r in history if _finite(r.get("train_loss")) or _finite(r.get("val_loss"))]
    if len(rows) < 2 or not n_classes or n_classes < 2:
        return []
    found = [f for f in (_divergence(rows, n_classes),) if f]
    if found:  # a diverged run explains everything else it shows
        return found
    # the most specific cause first: a flat loss, then a collapse (which puts a small label
    # set at chance too), then what being at chance means given the training loss
    for finding in (_flat(rows, prior_entropy), _collapsed(rows),
                    _at_chance_cause(rows, prior_entropy, train_counts)):  # fmt: skip
        if finding is not None:
            return [finding]
    return []


def _divergence(rows, n_classes) -> Finding | None:
    running = math.inf
    for r in rows:
        loss = r.get("train_loss")
        if not _finite(loss):
            continue
        uniform = r.get("uniform_loss") or ln_k(n_classes)
        if loss > 2 * uniform:
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
    full_epoch = last.get("epoch") is None or last["epoch"] >= 1
    if (_finite(train) and prior and full_epoch and train >= (1 - FLAT_DROP) * prior
            and not _falling(rows)):  # fmt: skip
        return _finding("not-learning", "the training loss is not below the loss of always "
                        "predicting the class prior", last, train_loss=train, prior_loss=prior,
                        **(_at_chance(rows) or {}))  # fmt: skip
    return None


def _at_chance_cause(rows, prior_entropy, train_counts) -> Finding | None:
    chance = _at_chance(rows)
    if chance is None:
        return None
    last = rows[-1]
    train, prior = last.get("train_loss"), last.get("prior_loss") or prior_entropy
    if not _finite(train) or not prior:
        return _finding("not-learning", "validation is indistinguishable from chance", last,
                        **chance)  # fmt: skip
    if train >= (1 - UNRELATED_DROP) * prior:
        if _falling(rows):
            return None  # memorising or learning: the next evaluations tell
        return _finding("not-learning", "validation is indistinguishable from chance and the "
                        "training loss barely fell: nothing this model learns from the texts "
                        "predicts these labels", last, train_loss=train, prior_loss=prior,
                        **chance)  # fmt: skip
    rows_per_class = median(train_counts.values()) if train_counts else None
    if rows_per_class is not None and rows_per_class <= ID_ROWS:
        return _finding("identifier-labels", "the label looks like an identifier: its classes "
                        f"have a median of {rows_per_class:g} training rows each and validation is at "
                        "chance", last,
                        median_rows_per_class=rows_per_class, n_classes=len(train_counts),
                        **chance)  # fmt: skip
    return _finding("labels-unrelated", "the training loss falls while validation stays at "
                    "chance: labels are memorised, not predicted from the text", last,
                    train_loss=train, prior_loss=prior, **chance)  # fmt: skip


def _at_chance(rows) -> dict | None:
    """Evidence when the last two evaluations are both indistinguishable from chance."""
    tail = rows[-2:]
    if not all("macro_f1_low" in r and "chance_macro_f1" in r for r in tail):
        return None
    if any(r["macro_f1_low"] > r["chance_macro_f1"] for r in tail):
        return None
    last = tail[-1]
    return {"val_macro_f1": last.get("macro_f1"), "macro_f1_low": last["macro_f1_low"],
            "chance_macro_f1": last["chance_macro_f1"]}  # fmt: skip


def _collapsed(rows) -> Finding | None:
    tail = rows[-2:]
    if not all("pred_cover" in r and "gold_cover" in r for r in tail):
        return None
    if not all(r["pred_cover"] < r["gold_cover"] and r["pred_cover"] <= max(1, r["gold_cover"] / 5)
               and r.get("pred_top_share", 1) >= 2 * r.get("pred_top_prior", 0)
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
    """Whether the training loss fell by more than 2% at the last evaluation."""
    before, last = rows[-2].get("train_loss"), rows[-1].get("train_loss")
    return _finite(before) and _finite(last) and last < (1 - FLAT_DROP) * before


def _finite(v) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)

"""The guards, live: reference losses on the training batches, guard figures at every
evaluation, and one warning line per finding (:mod:`tailtune.guards` holds the rules).

The prior-predictor loss is measured with the run's own loss on the batches it trains on: the
logits ``ln π`` of the class distribution the batches are drawn from (the training prior, or the
sampler's class distribution), so class weights, smoothing, focal loss and logit adjustment are
all accounted for. The uniform loss (ln K for plain cross-entropy) is measured the same way. On
label sets (0/1 rows) the prior predictor gives every label the logit of its rate, ln p/(1 − p)
(the sum of per-label Bernoulli entropies under binary cross-entropy), and the uniform one
logit 0 (ln 2 per label).

At every evaluation the same prior predictor is scored on the validation rows
(``val_prior_loss``, the run's loss) with the standard error of the per-row difference in log
loss between the model and it (``val_gain_se``): how far the model is from the prior on rows
it never trained on, against how far it is on its training batches, is what tells memorised
labels from a model that learned nothing (:mod:`tailtune.guards.curve`).
"""

from __future__ import annotations

import numpy as np

from tailtune._extras import require
from tailtune.guards import check_history, evaluation_figures
from tailtune.guards.sets import set_evaluation_figures

__all__ = ["Watch"]


class Watch:
    """Guard references and findings for one fit.

    ``labels``: training class indices, or 0/1 rows (texts × labels) for label sets;
    ``sample_probs``: per-example sampling probabilities (None: uniform over examples);
    ``num_classes``: K (the number of labels for sets).
    """

    def __init__(self, labels, sample_probs, num_classes: int):
        labels = np.asarray(labels)
        weights = None if sample_probs is None else np.asarray(sample_probs, dtype=float)
        self.sets = labels.ndim == 2
        if self.sets:  # the rate of every label in the batches the sampler draws
            w = np.ones(len(labels)) if weights is None else weights
            self.prior = np.clip((labels > 0.5).T.astype(float) @ w / w.sum(), 1e-6, 1 - 1e-6)
            counts = (labels > 0.5).sum(axis=0)
            self._ref = np.log(self.prior) - np.log1p(-self.prior)
        else:
            labels = labels.astype(np.int64)
            stream = np.bincount(labels, weights=weights, minlength=num_classes).astype(float)
            self.prior = stream / stream.sum()
            counts = np.bincount(labels, minlength=num_classes)
            self._ref = np.log(np.clip(self.prior, 1e-12, None))
        self.train_counts = {str(k): int(c) for k, c in enumerate(counts) if c}
        self.num_classes = num_classes
        self._logits = None

    def reference_losses(self, loss_fn, logits, targets) -> tuple[float, float]:
        """``(uniform, prior)`` losses of constant predictors on this micro-batch."""
        torch = require("torch")
        with torch.no_grad():
            if self._logits is None or self._logits.device != logits.device:
                self._logits = torch.as_tensor(self._ref, dtype=torch.float32).to(logits.device)
            zeros = torch.zeros_like(logits, dtype=torch.float32)
            uniform = float(loss_fn(zeros, targets))
            prior = float(loss_fn(zeros + self._logits, targets))
        return uniform, prior

    def figures(self, gold, logits, loss_fn=None, predicted=None) -> dict:
        """The guard figures of one evaluation: chance, macro F1's bootstrap low, coverage, and
        with ``loss_fn`` the prior predictor's validation loss and ``val_gain_se``.
        ``predicted``: the 0/1 sets the run's decision rule gave (label sets; else logit > 0)."""
        if not len(gold):
            return {}
        logits = np.asarray(logits, dtype=np.float64)
        if self.sets:
            pred = np.asarray(predicted) if predicted is not None else logits > 0
            out = set_evaluation_figures(np.asarray(gold) > 0.5, pred, self.prior)
        else:
            out = evaluation_figures(gold, logits.argmax(axis=1), self.prior)
        if loss_fn is not None:
            out.update(self._validation_reference(gold, logits, loss_fn))
        return out

    def _validation_reference(self, gold, logits, loss_fn) -> dict:
        torch = require("torch")
        target = torch.as_tensor(np.asarray(gold))
        with torch.no_grad():
            ref = torch.zeros(logits.shape, dtype=torch.float32) + torch.as_tensor(
                self._ref, dtype=torch.float32
            )
            prior = float(loss_fn(ref, target))
        diff = _row_log_loss(logits, gold, self.sets) - _row_log_loss(
            np.broadcast_to(self._ref, logits.shape), gold, self.sets
        )
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
        return {"val_prior_loss": round(prior, 6), "val_gain_se": round(se, 6)}

    def new_findings(self, history: list[dict], seen: list[dict], skip=(),
                     final: bool = False) -> list[dict]:  # fmt: skip
        """Findings on ``history`` whose guard is not in ``seen`` or ``skip`` (as dicts);
        ``final``: training has ended, so no guard waits for the trend."""
        known = {f["guard"] for f in seen} | set(skip)
        found = check_history(history, n_classes=self.num_classes,
                              train_counts=self.train_counts, final=final)  # fmt: skip
        now = history[-1].get("step")  # the evaluation that noticed it
        return [f.to_dict() | {"step": now, "line": f.line()} for f in found
                if f.guard not in known]  # fmt: skip


def _row_log_loss(logits: np.ndarray, gold, sets: bool) -> np.ndarray:
    """Plain log loss per row (cross-entropy; binary cross-entropy averaged over the labels for
    sets, the units of a mean-reduced BCE), the scale of the guards' noise estimate."""
    z = np.asarray(logits, dtype=np.float64)
    if sets:
        y = np.asarray(gold, dtype=np.float64)
        return (np.logaddexp(0.0, z) - y * z).mean(axis=1)
    top = z.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return log_norm - z[np.arange(len(z)), np.asarray(gold, dtype=np.int64)]

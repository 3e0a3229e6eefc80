"""The guards, live: reference losses on the training batches, guard figures at every
evaluation, and one warning line per finding (:mod:`tailtune.guards` holds the rules).

The prior-predictor loss is measured with the run's own loss on the batches it trains on: the
logits ``ln π`` of the class distribution the batches are drawn from (the training prior, or the
sampler's class distribution), so class weights, smoothing, focal loss and logit adjustment are
all accounted for. The uniform loss (ln K for plain cross-entropy) is measured the same way.
"""

from __future__ import annotations

import numpy as np

from tailtune._extras import require
from tailtune.guards import check_history, evaluation_figures

__all__ = ["Watch"]


class Watch:
    """Guard references and findings for one fit.

    ``labels``: training class indices; ``sample_probs``: per-example sampling probabilities
    (None: uniform over examples); ``num_classes``: K.
    """

    def __init__(self, labels, sample_probs, num_classes: int):
        labels = np.asarray(labels, dtype=np.int64)
        weights = None if sample_probs is None else np.asarray(sample_probs, dtype=float)
        stream = np.bincount(labels, weights=weights, minlength=num_classes).astype(float)
        self.prior = stream / stream.sum()
        self.train_counts = {str(k): int(c) for k, c in
                             enumerate(np.bincount(labels, minlength=num_classes)) if c}  # fmt: skip
        self.num_classes = num_classes
        self._logits = None

    def reference_losses(self, loss_fn, logits, targets) -> tuple[float, float]:
        """``(uniform, prior)`` losses of constant predictors on this micro-batch."""
        torch = require("torch")
        with torch.no_grad():
            if self._logits is None or self._logits.device != logits.device:
                self._logits = torch.log(torch.as_tensor(self.prior, dtype=torch.float32)
                                         .clamp_min(1e-12)).to(logits.device)  # fmt: skip
            zeros = torch.zeros_like(logits, dtype=torch.float32)
            uniform = float(loss_fn(zeros, targets))
            prior = float(loss_fn(zeros + self._logits, targets))
        return uniform, prior

    def figures(self, gold, logits) -> dict:
        """The guard figures of one evaluation (chance, macro F1's bootstrap low, coverage)."""
        if not len(gold):
            return {}
        return evaluation_figures(gold, np.asarray(logits).argmax(axis=1), self.prior)

    def new_findings(self, history: list[dict], seen: list[dict], skip=()) -> list[dict]:
        """Findings on ``history`` whose guard is not in ``seen`` or ``skip`` (as dicts)."""
        known = {f["guard"] for f in seen} | set(skip)
        found = check_history(history, n_classes=self.num_classes,
                              train_counts=self.train_counts)  # fmt: skip
        now = history[-1].get("step")  # the evaluation that noticed it
        return [f.to_dict() | {"step": now, "line": f.line()} for f in found
                if f.guard not in known]  # fmt: skip

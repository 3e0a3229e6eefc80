"""The guards, live: reference losses on the training batches, guard figures at every
evaluation, and one warning line per finding (:mod:`tailtune.guards` holds the rules).

The prior predictor is the best a model can do without reading the text, in the run's own
loss: the constant logits that minimise that loss's expectation over the labels the batches are
drawn from (the training labels, or the sampler's draw), fitted once by L-BFGS (Nocedal 1980)
from the logits of the class distribution, ``ln π``. Under plain cross-entropy that minimiser
is ``ln π`` itself (the loss is the prior entropy H(π)); on label sets under binary
cross-entropy it is each label's rate logit ln p/(1 − p) (the sum of per-label Bernoulli
entropies). Class weights, label smoothing, focal loss and logit adjustment move the minimiser
away from ``ln π`` (weights w_k: to ln w_k π_k, up to a constant), and a model learns that
shift from the labels alone, in its first steps and on shuffled labels too: measured against
``ln π`` it would look as if it predicted something, on training and on validation rows. Its
loss on the training batches is the ``prior_loss`` of the history; the uniform loss (logits 0:
ln K for plain cross-entropy, ln 2 per label on sets) is measured the same way.

At every evaluation the same prior predictor is scored on the validation rows
(``val_prior_loss``, the run's loss) with the standard error of the mean per-row difference
between the model's loss and its (``val_gain_se``; per-row losses in the run's loss, so a
weighted loss's heavy rows count as heavily in the noise as in the gain): how far the model is
from the prior on rows it never trained on, against how far it is on its training batches, is
what tells memorised labels from a model that learned nothing (:mod:`tailtune.guards.curve`).
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
        w = np.ones(len(labels)) if sample_probs is None else np.asarray(sample_probs, float)
        self.sets = labels.ndim == 2
        if self.sets:  # the rate of every label in the batches the sampler draws
            rows = (labels > 0.5).astype(np.float32)
            self.prior = np.clip(rows.T.astype(float) @ w / w.sum(), 1e-6, 1 - 1e-6)
            counts = rows.sum(axis=0).astype(np.int64)
            self._ref = np.log(self.prior) - np.log1p(-self.prior)
            # the distinct label rows and their share of the draw: what the reference is fit on
            self._rows, inverse = np.unique(rows, axis=0, return_inverse=True)
            self._row_share = np.bincount(inverse.ravel(), weights=w) / w.sum()
        else:
            labels = labels.astype(np.int64)
            stream = np.bincount(labels, weights=w, minlength=num_classes).astype(float)
            self.prior = stream / stream.sum()
            counts = np.bincount(labels, minlength=num_classes)
            self._ref = np.log(np.clip(self.prior, 1e-12, None))
            self._rows = np.flatnonzero(self.prior > 0)
            self._row_share = self.prior[self._rows]
        self.train_counts = {str(k): int(c) for k, c in enumerate(counts) if c}
        self.num_classes = num_classes
        self._logits = None
        self._fitted = False

    def _fit_reference(self, loss_fn) -> None:
        """Replace the starting logits by the constant ones that minimise ``loss_fn``'s
        expectation over the training draw (once; the loss is the same all run)."""
        if self._fitted:
            return
        self._fitted = True
        self._ref = best_constant_logits(loss_fn, self._ref, self._rows, self._row_share)
        self._logits = None

    def reference_losses(self, loss_fn, logits, targets) -> tuple[float, float]:
        """``(uniform, prior)`` losses of constant predictors on this micro-batch."""
        torch = require("torch")
        self._fit_reference(loss_fn)
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
        self._fit_reference(loss_fn)
        target = torch.as_tensor(np.asarray(gold))
        with torch.no_grad():
            ref = torch.zeros(logits.shape, dtype=torch.float32) + torch.as_tensor(
                self._ref, dtype=torch.float32
            )
            prior = float(loss_fn(ref, target))
            model = torch.as_tensor(np.asarray(logits), dtype=torch.float32)
            diff = (row_losses(loss_fn, model, target) - row_losses(loss_fn, ref, target)).numpy()
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


def row_losses(loss_fn, logits, targets):
    """``loss_fn`` on each row alone, as a (N,) tensor: the run's loss per row, whose mean is
    the batch loss (every loss of tailtune is a mean over rows). Vectorised by
    ``torch.func.vmap``; a loss it cannot map is called row by row."""
    torch = require("torch")

    def one(z, t):
        return loss_fn(z.unsqueeze(0), t.unsqueeze(0))

    try:
        return torch.func.vmap(one)(logits, targets)
    except (RuntimeError, NotImplementedError, ValueError):  # an op without a batching rule
        return torch.stack([one(z, t) for z, t in zip(logits, targets, strict=True)])


def best_constant_logits(loss_fn, start, rows, share, iterations: int = 100) -> np.ndarray:
    """The constant logits minimising ``Σ_r share_r · loss_fn(c, rows_r)``, by L-BFGS from
    ``start``: the run's loss of the best prediction that ignores the text. ``rows``: the
    distinct targets (class indices, or 0/1 label rows), ``share``: their share of the draw.

    Strictly convex for cross-entropy and binary cross-entropy with any class or positive
    weights, smoothing or logit adjustment, so the minimum is the one; for a loss that is not
    (focal), it is a local minimum no worse than ``start``, which only makes the reference
    harder to beat."""
    torch = require("torch")
    target = torch.as_tensor(rows)
    weight = torch.as_tensor(np.asarray(share, dtype=np.float64), dtype=torch.float32)
    first = torch.as_tensor(np.asarray(start, dtype=np.float32))
    c = first.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([c], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-9, tolerance_change=1e-12)  # fmt: skip

    def expected(logits):
        z = logits.unsqueeze(0).expand(len(target), -1)
        return (row_losses(loss_fn, z, target) * weight).sum()

    def closure():
        opt.zero_grad()
        value = expected(c)
        value.backward()
        return value

    with torch.enable_grad():
        opt.step(closure)
        with torch.no_grad():
            better = bool(torch.isfinite(c).all()) and float(expected(c)) <= float(expected(first))
    return (c.detach() if better else first).numpy().astype(np.float64)

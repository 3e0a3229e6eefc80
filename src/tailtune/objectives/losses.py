"""Training losses for long-tailed labels: pure functions over torch tensors.

Every loss takes raw ``logits`` (N, K) and integer ``targets`` (N,) and returns a scalar.

Normalization of weighted losses — a deliberate choice. ``torch.nn.functional.cross_entropy``
with ``weight=`` and ``reduction="mean"`` divides by the *sum of the batch's target weights*,
so a batch made only of one rare class gets no extra weight at all, and the effective weight
of an example depends on which other examples share its batch (and on the number of processes
and accumulation steps). Here each example's loss is multiplied by its class weight and the
batch is averaged over N examples — exactly "multiply each example's loss by a weight based on
its class". The gradient then decomposes over examples, so gradient accumulation
and data-parallel training give the same update as one big batch.

Label smoothing follows Szegedy et al. 2016 (the target is (1 − ε)·onehot + ε/K), and the
class weight of an example multiplies its whole smoothed loss (torch instead weights the
smoothing term of each class by that class's weight).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tailtune._extras import require
from tailtune.errors import ConfigError

__all__ = [
    "LOSSES",
    "build_loss",
    "cross_entropy",
    "focal_loss",
    "logit_adjusted_loss",
    "uniform_loss",
]

LOSSES = ("ce", "focal", "logit_adjusted")


def cross_entropy(logits, targets, *, class_weights=None, label_smoothing: float = 0.0):
    """Mean over examples of ``w_y · [(1 − ε)(−log p_y) + ε/K · Σ_c (−log p_c)]``.

    With ``class_weights=None`` and ε = 0 this equals ``F.cross_entropy(logits, targets)``.
    ``class_weights`` is a (K,) tensor; see the module docstring for the normalization.
    Label smoothing: Szegedy et al. 2016, "Rethinking the Inception Architecture", §7.
    """
    torch = require("torch")
    logp = torch.log_softmax(logits.float(), dim=-1)
    nll = -logp.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    if label_smoothing:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(dim=-1)
    if class_weights is not None:
        nll = nll * class_weights.to(nll.device, nll.dtype)[targets.long()]
    return nll.mean()


def focal_loss(logits, targets, *, gamma: float = 2.0, alpha=None):
    """Focal loss, mean over examples of ``−α_y (1 − p_y)^γ log p_y``.

    Lin et al. 2017, "Focal Loss for Dense Object Detection", eq. 5; ``alpha`` is an optional
    (K,) tensor of per-class weights (the paper's α_t), γ = 0 with no α is cross-entropy.
    """
    torch = require("torch")
    logp = torch.log_softmax(logits.float(), dim=-1)
    logp_y = logp.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    loss = -((1.0 - logp_y.exp()).clamp(min=0.0) ** gamma) * logp_y
    if alpha is not None:
        loss = loss * alpha.to(loss.device, loss.dtype)[targets.long()]
    return loss.mean()


def logit_adjusted_loss(
    logits, targets, *, log_priors, tau: float = 1.0, class_weights=None, label_smoothing=0.0
):
    """Logit-adjusted cross-entropy: CE on ``logits + τ · log π``.

    Menon et al. 2021, "Long-Tail Learning via Logit Adjustment", ICLR, eq. 10: adding the
    scaled log-prior during training makes the *unadjusted* logits Fisher-consistent for the
    balanced error, so prediction uses the raw logits. Combines with weights and smoothing.
    """
    shift = tau * log_priors.to(logits.device)
    return cross_entropy(
        logits + shift, targets, class_weights=class_weights, label_smoothing=label_smoothing
    )


def uniform_loss(loss_fn: Callable, logits, targets):
    """The loss a model predicting the uniform distribution would get on this batch.

    ln K for plain cross-entropy; used by the not-learning guard so that weights, smoothing
    and logit adjustment are all accounted for.
    """
    torch = require("torch")
    with torch.no_grad():
        return loss_fn(torch.zeros_like(logits, dtype=torch.float32), targets)


def build_loss(
    kind: str = "ce",
    *,
    class_weights: Sequence[float] | None = None,
    label_smoothing: float = 0.0,
    focal_gamma: float = 2.0,
    log_priors: Sequence[float] | None = None,
    tau: float = 1.0,
) -> Callable:
    """Return ``loss(logits, targets) -> scalar`` for ``kind`` in ``ce | focal | logit_adjusted``.

    ``class_weights`` (one per class) weight every kind (the α of focal loss). Label smoothing
    combines with ``ce`` and ``logit_adjusted`` (e.g. sqrt-inverse weights + ε = 0.1);
    focal loss has no smoothed form here and raises ConfigError if ε > 0. ``logit_adjusted``
    needs ``log_priors`` (log of training class frequencies).
    """
    torch = require("torch")
    if kind not in LOSSES:
        raise ConfigError(f"objective.loss: got {kind!r}, expected one of {', '.join(LOSSES)}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ConfigError(f"objective.label_smoothing: got {label_smoothing}, expected [0, 1)")
    w = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
    if kind == "ce":
        return _named(
            lambda lg, y: cross_entropy(lg, y, class_weights=w, label_smoothing=label_smoothing),
            "ce",
        )
    if kind == "focal":
        if label_smoothing:
            raise ConfigError(
                "objective.label_smoothing: focal loss does not combine with label smoothing; "
                "set label_smoothing: 0 or loss: ce"
            )
        return _named(lambda lg, y: focal_loss(lg, y, gamma=focal_gamma, alpha=w), "focal")
    if log_priors is None:
        raise ConfigError("objective.loss: logit_adjusted needs the training class priors")
    lp = torch.as_tensor(log_priors, dtype=torch.float32)
    if not torch.isfinite(lp).all():
        raise ConfigError("objective.loss: logit_adjusted needs every class in the training data")
    return _named(
        lambda lg, y: logit_adjusted_loss(
            lg, y, log_priors=lp, tau=tau, class_weights=w, label_smoothing=label_smoothing
        ),
        "logit_adjusted",
    )


def _named(fn: Callable, name: str) -> Callable:
    """Give a lambda a readable name (shows in reprs and error messages)."""
    fn.__name__ = fn.__qualname__ = f"{name}_loss"
    return fn

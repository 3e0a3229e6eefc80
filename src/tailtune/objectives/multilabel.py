"""Multi-label training losses: one sigmoid per label, pure functions over torch tensors.

Every loss takes raw ``logits`` (N, K) and 0/1 ``targets`` (N, K) and returns the mean over all
N·K terms, the reduction of ``torch.nn.BCEWithLogitsLoss`` and of 🤗 transformers'
``problem_type="multi_label_classification"``, so learning rates carry over between them.

- :func:`bce`: binary cross-entropy, optionally with per-label positive weights
  (:func:`tailtune.objectives.weights.positive_weights`).
- :func:`focal_bce`: the sigmoid focal loss (Lin et al. 2017, "Focal Loss for Dense Object
  Detection", eq. 5 with p_t per label).
- :func:`asymmetric_loss`: ASL (Ridnik et al. 2021, "Asymmetric Loss For Multi-Label
  Classification", ICCV, eq. 1-4): separate focusing for positives and negatives, and a
  probability margin that discards easy negatives.
- :func:`distribution_balanced_loss`: DB loss (Wu et al. 2020, "Distribution-Balanced Loss for
  Multi-Label Classification in Long-Tailed Datasets", ECCV, §3.2-3.3): re-balanced weights
  against the over-sampling of frequent co-occurring labels, and negative-tolerant
  regularization (a class-prior logit shift and a scaled negative term).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tailtune._extras import require
from tailtune.errors import ConfigError

__all__ = [
    "SET_LOSSES",
    "asymmetric_loss",
    "bce",
    "build_set_loss",
    "distribution_balanced_loss",
    "focal_bce",
]

SET_LOSSES = ("bce", "focal", "asl", "db")


def bce(logits, targets, *, pos_weight=None):
    """Mean of ``−[w_j · y log σ(z) + (1 − y) log(1 − σ(z))]`` over all N·K terms.

    ``pos_weight`` (K,) multiplies the positive terms (torch's ``pos_weight``); None = ones.
    """
    torch = require("torch")
    z, y = logits.float(), targets.float()
    pw = None if pos_weight is None else pos_weight.to(z.device, z.dtype)
    return torch.nn.functional.binary_cross_entropy_with_logits(z, y, pos_weight=pw)


def focal_bce(logits, targets, *, gamma: float = 2.0, pos_weight=None):
    """Sigmoid focal loss: mean of ``−w (1 − p_t)^γ log p_t`` with p_t = σ(z) for a positive,
    1 − σ(z) for a negative (Lin et al. 2017, eq. 5); ``pos_weight`` weights positive terms."""
    torch = require("torch")
    z, y = logits.float(), targets.float()
    logp = torch.nn.functional.logsigmoid(z)  # log σ(z)
    logq = torch.nn.functional.logsigmoid(-z)  # log(1 − σ(z))
    log_pt = y * logp + (1 - y) * logq
    loss = -((1 - log_pt.exp()) ** gamma) * log_pt
    if pos_weight is not None:
        loss = loss * (1 + y * (pos_weight.to(z.device, z.dtype) - 1))
    return loss.mean()


def asymmetric_loss(
    logits, targets, *, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05
):
    """ASL (Ridnik et al. 2021, eq. 1-4): mean of ``−y (1 − p)^γ₊ log p − (1 − y) p_m^γ₋
    log(1 − p_m)`` with p = σ(z) and the shifted probability p_m = max(p − m, 0), m = ``clip``.

    Defaults are the paper's (γ₊ = 0, γ₋ = 4, m = 0.05). The margin sets the loss of a negative
    with p ≤ m to exactly 0 (easy negatives, the bulk of a many-label problem, stop pulling).
    """
    torch = require("torch")
    z, y = logits.float(), targets.float()
    p = torch.sigmoid(z)
    pos = ((1 - p) ** gamma_pos) * torch.nn.functional.logsigmoid(z)
    p_m = (p - clip).clamp(min=0) if clip > 0 else p
    neg = (p_m**gamma_neg) * torch.log((1 - p_m).clamp(min=1e-8))
    return -(y * pos + (1 - y) * neg).mean()


def distribution_balanced_loss(
    logits,
    targets,
    *,
    label_counts,
    n_texts: int,
    alpha: float = 0.1,
    beta: float = 10.0,
    mu: float = 0.2,
    kappa: float = 0.05,
    neg_scale: float = 2.0,
    gamma: float = 2.0,
):
    """DB loss (Wu et al. 2020, §3.2-3.3, with the defaults of the authors' code).

    Re-balanced weight of text k and label i: r = (1/n_i) / Σ_{j ∈ y^k} 1/n_j (how much the
    label-wise sampling over-draws this text through its other labels), smoothed to
    r̂ = α + σ(β (r − μ)); used for positive and negative terms alike. Negative-tolerant
    regularization: logits shift by the class prior, z' = z + κ b̂_i / λ with b̂_i = log(p_i /
    (1 − p_i)), p_i = n_i / N, and a negative's term is (1/λ) log(1 + e^{λ z'}) (λ =
    ``neg_scale``), so negatives of rare labels are not pushed down as hard. ``gamma`` adds
    the focal factor (1 − p_t)^γ on the regularized logit (0 = none). ``label_counts`` (K,)
    are training positives per label, ``n_texts`` the training texts.
    """
    torch = require("torch")
    z, y = logits.float(), targets.float()
    n = torch.as_tensor(label_counts, dtype=torch.float32, device=z.device).clamp(min=1)
    inv = 1.0 / n
    repeat = (y * inv).sum(dim=1, keepdim=True)
    # a text with the empty set is not over-sampled through any label: r = μ, the midpoint
    r = torch.where(repeat > 0, inv / repeat.clamp(min=1e-12), torch.full_like(z, mu))
    weight = alpha + torch.sigmoid(beta * (r - mu))
    prior = n / float(n_texts)
    bias = torch.log(prior / (1 - prior).clamp(min=1e-12))
    z = z + kappa * bias / neg_scale
    z = torch.where(y > 0, z, z * neg_scale)
    weight = torch.where(y > 0, weight, weight / neg_scale)
    log_pt = y * torch.nn.functional.logsigmoid(z) + (1 - y) * torch.nn.functional.logsigmoid(-z)
    loss = -weight * log_pt
    if gamma:
        loss = loss * (1 - log_pt.exp()) ** gamma
    return loss.mean()


def build_set_loss(
    kind: str = "bce",
    *,
    pos_weight: Sequence[float] | None = None,
    focal_gamma: float = 2.0,
    label_counts: Sequence[int] | None = None,
    n_texts: int | None = None,
) -> Callable:
    """``loss(logits, targets) -> scalar`` for ``kind`` in ``bce | focal | asl | db``.

    ``pos_weight`` weights positives for ``bce`` and ``focal``; ``db`` needs ``label_counts``
    and ``n_texts`` (training statistics); ``asl`` uses the paper's defaults.
    """
    torch = require("torch")
    if kind not in SET_LOSSES:
        raise ConfigError(f"objective.set_loss: got {kind!r}, expected one of "
                          f"{', '.join(SET_LOSSES)}")  # fmt: skip
    pw = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=torch.float32)
    if kind == "bce":
        return _named(lambda z, y: bce(z, y, pos_weight=pw), "bce")
    if kind == "focal":
        return _named(lambda z, y: focal_bce(z, y, gamma=focal_gamma, pos_weight=pw), "focal_bce")
    if kind == "asl":
        return _named(lambda z, y: asymmetric_loss(z, y), "asl")
    if label_counts is None or not n_texts:
        raise ConfigError("objective.set_loss: db needs the training label counts")
    counts = list(label_counts)
    return _named(
        lambda z, y: distribution_balanced_loss(
            z, y, label_counts=counts, n_texts=n_texts, gamma=focal_gamma
        ),
        "db",
    )


def _named(fn: Callable, name: str) -> Callable:
    fn.__name__ = fn.__qualname__ = f"{name}_loss"
    return fn

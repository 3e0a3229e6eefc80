"""Contrastive tuning of a sentence encoder's body on the training labels, before a head is fitted.

SetFit (Tunstall et al. 2022, "Efficient Few-Shot Learning Without Prompts") tunes a sentence
encoder so that the cosine similarity of two texts' pooled embeddings approaches 1 when they share
a class and 0 when they do not, then fits a head on the tuned embeddings. SetFit feeds the pairs
one by one (two texts a pair); here each step embeds a PK batch — ``P`` classes, two texts each
(Hermans et al. 2017, "In Defense of the Triplet Loss for Person Re-Identification") — and scores
every pair inside it, so one forward pass of ``2P`` texts yields ``P`` positive and ``2P(P-1)``
negative pairs instead of ``P``. The two groups are averaged separately and the halves summed, so
the loss weighs agreement and separation equally however many negatives a batch holds.

Long tail: a step's classes are drawn without replacement with probability ∝ sqrt(count) — between
drawing texts (the head classes fill every batch) and drawing classes uniformly (a class of three
texts is seen as often as one of 13,000). A class with one text is drawn like any other; its pair
with itself carries no gradient, but it is a negative for every other class in its batch.

Label sets: the classes of a step are labels, a text is drawn among those carrying its label, and
a pair's target is the Jaccard index of the two texts' label sets (1 or 0 for single labels).
"""

from __future__ import annotations

import time

import numpy as np

from tailtune._extras import require

__all__ = ["pair_targets", "pk_batch", "tune_body"]


def pair_targets(y: np.ndarray) -> np.ndarray:
    """(B, B) target cosine of every pair of a batch: the Jaccard index of the two label sets
    (``y`` a 0/1 matrix), which for one class a text (``y`` class indices) is 1 or 0."""
    if y.ndim == 1:
        return (y[:, None] == y[None, :]).astype(np.float32)
    y = y.astype(np.float32)
    both = y @ y.T
    either = y.sum(1)[:, None] + y.sum(1)[None, :] - both
    return np.where(either > 0, both / np.maximum(either, 1e-12), 0.0).astype(np.float32)


def pk_batch(members: list[np.ndarray], share: np.ndarray, p: int, rng) -> np.ndarray:
    """Row indices of one PK batch: ``p`` classes drawn without replacement by ``share``, then two
    rows of each (with replacement only where a class has one row)."""
    classes = rng.choice(len(members), size=min(p, len(members)), replace=False, p=share)
    rows = []
    for c in classes:
        pool = members[c]
        rows.extend(rng.choice(pool, size=2, replace=len(pool) < 2))
    return np.asarray(rows, dtype=np.int64)


def planned_steps(tokenizer, texts, steps, tokens, batch_size, max_length, seed) -> int:
    """``steps``, or fewer where ``tokens`` would be spent first: ``tokens`` over the tokens of
    one step (``batch_size`` × the mean length, at ``max_length``, of up to 2,000 texts drawn
    with ``seed``), at least 1. A cost cap in tokens, unlike one in seconds, plans the same
    steps on every machine."""
    if tokens is None or not len(texts):
        return int(steps)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(texts), size=min(2000, len(texts)), replace=False)
    ids = tokenizer([texts[i] for i in sample], truncation=True, max_length=max_length)["input_ids"]
    per_step = batch_size * float(np.mean([len(x) for x in ids]))
    return int(max(1, min(steps, tokens // per_step)))


def pair_loss(torch, z, target):
    """SetFit's cosine-similarity regression over every pair of a batch: ``(cos - t)²`` averaged
    over pairs that share a label and over pairs that share none, the two means added."""
    z = torch.nn.functional.normalize(z, dim=-1)
    cos = z @ z.T
    off = ~torch.eye(len(z), dtype=torch.bool, device=z.device)
    err = (cos - target) ** 2
    pos, neg = off & (target > 0), off & (target == 0)
    loss = z.new_zeros(())
    for mask in (pos, neg):
        if mask.any():
            loss = loss + err[mask].mean()
    return loss


def tune_body(
    model,
    tokenizer,
    texts: list[str],
    y: np.ndarray,
    *,
    steps: int,
    budget_s: float | None,
    tokens: int | None = None,
    lr: float,
    batch_size: int,
    max_length: int,
    seed: int,
    pooling: str = "mean",
    log=None,
) -> dict:
    """Tune ``model`` (a transformers encoder, in place) for ``steps`` PK steps of ``batch_size``
    texts — fewer where ``tokens`` caps the tokens read (:func:`planned_steps`) — or until
    ``budget_s`` wall seconds have gone; returns what happened (steps planned and done, seconds,
    the mean loss of the first and last tenth of steps).

    AdamW at ``lr`` with 10% linear warm-up and linear decay to 0 over the planned steps; with a
    budget, the plan is re-made after five steps from their mean time, so the decay ends when the
    budget does. The model is left in eval mode.
    """
    torch = require("torch")
    y = np.asarray(y)
    counts = y.sum(0) if y.ndim == 2 else np.bincount(y)
    members = [np.flatnonzero(y[:, c] > 0 if y.ndim == 2 else y == c) for c in range(len(counts))]
    keep = [c for c, m in enumerate(members) if len(m)]
    members = [members[c] for c in keep]
    share = np.sqrt(counts[keep].astype(np.float64))
    share /= share.sum()
    p = max(2, batch_size // 2)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    planned = planned_steps(tokenizer, texts, steps, tokens, batch_size, max_length, seed)
    first_plan = planned
    if log is not None:
        log(f"body tuning: {planned} steps of {2 * p} texts planned (lr {lr:g})")
    losses: list[float] = []
    model.train()
    t0 = time.perf_counter()
    step = 0
    while step < planned:
        rows = pk_batch(members, share, p, rng)
        enc = tokenizer(
            [texts[i] for i in rows],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        warm = max(1, planned // 10)
        scale = (step + 1) / warm if step < warm else max(0.0, (planned - step) / (planned - warm))
        for group in optimizer.param_groups:
            group["lr"] = lr * scale
        hidden = model(**enc).last_hidden_state
        if pooling == "cls":
            z = hidden[:, 0]
        else:
            m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            z = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        target = torch.from_numpy(pair_targets(y[rows])).to(device)
        loss = pair_loss(torch, z, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1
        spent = time.perf_counter() - t0
        if budget_s is not None:
            if step == 5 and planned > 5:  # plan the decay to end with the budget
                planned = max(step, min(planned, int(budget_s / (spent / step))))
            if spent >= budget_s:
                break
        if log is not None and step % 50 == 0:
            log(f"body tuning: step {step}/{planned} loss {np.mean(losses[-50:]):.4f} "
                f"{spent / step:.2f} s/step")  # fmt: skip
    model.eval()
    tenth = max(1, len(losses) // 10)
    return {
        "body_steps_planned": first_plan,
        "body_steps": step,
        "body_s": round(time.perf_counter() - t0, 3),
        "body_loss_first": round(float(np.mean(losses[:tenth])), 5) if losses else None,
        "body_loss_last": round(float(np.mean(losses[-tenth:])), 5) if losses else None,
    }

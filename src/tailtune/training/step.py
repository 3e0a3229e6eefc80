"""Gradient clipping and the optimizer step, without Accelerate's per-call overhead where its
wrappers have nothing to do.

Accelerate's ``AcceleratedOptimizer.step`` asks ``importlib`` whether the ``lomo_optim`` package
is installed, twice per call (a search of every ``sys.path`` entry, uncached in Accelerate 1.x).
On a head over cached embeddings, where a step's arithmetic takes well under a millisecond, that
search was the largest single cost of the loop (benchmarks/head_loop.py). When the wrapper would
only call the wrapped optimizer's ``step`` (no fp16 gradient scaler, not on XLA, gradients
synchronised), this calls it directly: the same update, in the same order. Its ``zero_grad``
reads the wrapped method's signature (``inspect.signature``) on every call; :func:`zero_grad`
clears the gradients of a torch optimizer directly.

``Accelerator.clip_grad_norm_`` likewise ends, off FSDP, DeepSpeed and XLA, in torch's own
clipping after a DTensor-aware regrouping of the gradients; on one process or plain data
parallel (gradients already all-reduced) :func:`clip_gradients` calls torch's directly.
"""

from __future__ import annotations

import os

__all__ = ["clip_gradients", "optimizer_step", "zero_grad"]


def optimizer_step(optimizer) -> None:
    """``optimizer.step()`` for a plain or an Accelerate-prepared optimizer."""
    inner = getattr(optimizer, "optimizer", None)
    if inner is not None and _only_forwards(optimizer):
        inner.step()
    else:
        optimizer.step()


def zero_grad(optimizer) -> None:
    """``optimizer.zero_grad(set_to_none=True)`` for a plain or an Accelerate-prepared optimizer."""
    from torch.optim import Optimizer

    inner = getattr(optimizer, "optimizer", None)
    if isinstance(inner, Optimizer) and _only_forwards(optimizer):
        inner.zero_grad(set_to_none=True)
    else:
        optimizer.zero_grad(set_to_none=True)


def _only_forwards(optimizer) -> bool:
    """Whether Accelerate's ``step`` would do nothing but call the wrapped optimizer's."""
    from accelerate.optimizer import AcceleratedOptimizer
    from accelerate.utils import DistributedType

    return (
        type(optimizer) is AcceleratedOptimizer  # a subclass may step differently
        and getattr(optimizer, "scaler", None) is None
        and optimizer.gradient_state.sync_gradients
        and optimizer.accelerator_state.distributed_type != DistributedType.XLA
    )


def clip_gradients(accelerator, parameters, max_norm: float):
    """The total gradient norm (a tensor), gradients clipped to ``max_norm`` (inf: none)."""
    from accelerate.utils import DistributedType
    from torch.nn.utils import clip_grad_norm_

    plain = (DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU)
    fsdp = os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"
    if accelerator.distributed_type not in plain or fsdp:
        return accelerator.clip_grad_norm_(parameters, max_norm)
    accelerator.unscale_gradients()  # fp16's gradient scaler; a no-op otherwise
    return clip_grad_norm_(list(parameters), max_norm)

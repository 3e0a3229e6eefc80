"""What a fit is built from and what it reports: the Accelerator, AdamW's groups, the figures."""

from __future__ import annotations

from pathlib import Path

from tailtune._extras import require
from tailtune.errors import ConfigError
from tailtune.training.settings import TrainSettings

__all__ = [
    "enable_checkpointing",
    "fit_info",
    "make_accelerator",
    "make_optimizer",
    "precision_used",
    "stop_reason",
]


def make_accelerator(accelerate, s: TrainSettings, work: Path | None):
    """An Accelerator for this run (CPU when asked or when no GPU is present).

    fp16 on a CPU stops here with one line: Accelerate would accept it and train in fp32 with
    no autocast at all, while the run recorded fp16."""
    from tailtune.backends._hf import pick_device

    cpu = pick_device(s.device) == "cpu"
    if cpu and s.precision == "fp16":
        raise ConfigError(
            "train.precision=fp16 needs CUDA (this run trains on the CPU); use "
            "train.precision=bf16 (CPU autocast) or train.precision=no (fp32)"
        )
    state = accelerate.state.AcceleratorState._shared_state
    if state and state.get("_mixed_precision", s.precision) != s.precision:
        # a second fit in one process with another precision: Accelerate keeps global state
        accelerate.state.AcceleratorState._reset_state(True)
    acc = accelerate.Accelerator(
        cpu=cpu,
        mixed_precision=s.precision,
        project_dir=str(work) if work is not None else None,
    )
    return acc


def precision_used(acc, s: TrainSettings, log) -> str:
    """What the forward passes really run in: ``bf16``, ``fp16`` or ``fp32`` (one line when it
    is not what a reader of ``train.precision`` would assume)."""
    used = acc.mixed_precision if getattr(acc, "native_amp", False) else "no"
    used = "fp32" if used == "no" else used
    if s.precision == "no":
        return used
    if used == "fp32":
        log(f"train.precision={s.precision}: no autocast on {acc.device}; training in fp32")
    elif acc.device.type == "cpu":
        log(
            f"train.precision={used} on the CPU: forward passes run under "
            f"torch.autocast('cpu', dtype=torch.bfloat16); weights, gradients and optimizer "
            "state stay fp32"
        )
    return used


def enable_checkpointing(model, s: TrainSettings, log) -> bool:
    """Turn gradient (activation) checkpointing on when asked; whether the model has it on.

    Only transformers models recompute their layers; for any other module (the embedding
    head's linear layer) one line says that it does not apply. A model a backend set up itself
    (PEFT's preparation for k-bit training) is reported as it is."""
    if s.gradient_checkpointing:
        enable = getattr(model, "activation_checkpointing_enable", None) or getattr(
            model, "gradient_checkpointing_enable", None
        )
        try:
            if enable is None or not getattr(model, "supports_gradient_checkpointing", False):
                raise ValueError
            # non-reentrant: gradients reach the layers even when the inputs need none
            kwargs = {"use_reentrant": False}
            if enable.__name__ == "activation_checkpointing_enable":
                enable(activation_checkpointing_kwargs=kwargs)
            else:
                enable(gradient_checkpointing_kwargs=kwargs)
        except ValueError:
            log(
                f"train.gradient_checkpointing: does not apply to {type(model).__name__} (no "
                "transformer layers to recompute); training without it"
            )
            return False
    return checkpointing_on(model)


def checkpointing_on(model) -> bool:
    """Whether any layer of ``model`` recomputes its activations in the backward pass."""
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        try:
            value = getattr(model, name)
        except AttributeError:
            continue
        if isinstance(value, bool):
            return value
    return False


def make_optimizer(model, s: TrainSettings, head_prefixes, optimizer_cls):
    """AdamW (or ``optimizer_cls``) over groups: no weight decay on biases and norms; ``head_lr``."""
    torch = require("torch")
    if optimizer_cls is None and s.optimizer == "adamw_8bit":
        # 8-bit AdamW states (Dettmers et al. 2022) cut optimizer memory 4x; CUDA only.
        optimizer_cls = require("bitsandbytes", "train.optimizer=adamw_8bit").optim.AdamW8bit
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        head = s.head_lr is not None and name.startswith(tuple(head_prefixes))
        decay = p.ndim >= 2 and "norm" not in name.lower()
        groups.setdefault((head, decay), []).append(p)
    params = [
        {
            "params": ps,
            "lr": s.head_lr if head else s.lr,
            "weight_decay": s.weight_decay if decay else 0.0,
        }
        for (head, decay), ps in groups.items()
    ]
    return (optimizer_cls or torch.optim.AdamW)(params, lr=s.lr)


def fit_info(state, s: TrainSettings, trainable, accelerator, total) -> dict:
    """Figures recorded into ``backend.info_``."""
    torch = require("torch")
    counts = accelerator.reduce(
        torch.tensor([state.tokens, state.examples], device=accelerator.device), "sum"
    )
    tokens, examples = (int(x) for x in counts.tolist())
    train_s = max(state.train_s, 1e-9)
    return {
        "trainable_params": int(trainable),
        "steps": state.step,
        "planned_steps": total,
        "epochs_run": state.history[-1]["epoch"] if state.history else 0.0,
        "tokens_seen": tokens,
        "examples_seen": examples,
        "train_s": round(state.train_s, 3),
        "time_per_step_s": round(train_s / max(1, state.step), 5),
        "examples_per_s": round(examples / train_s, 2),
        "tokens_per_s": round(tokens / train_s, 2),
        "best_step": state.best_step,
        "best_metric": state.stopper.best,
        "early_stopping_metric": s.early_stopping_metric,
        "stopped_early": bool(state.stopper.should_stop),
        "stop_reason": stop_reason(state, s, total),
        "time_budget": s.time_budget,
        "not_learning_checked": state.guard.checked,
        "guards": list(state.findings),
        "processes": accelerator.num_processes,
        "device": str(accelerator.device),
        "precision": s.precision,
    }


def stop_reason(state, s: TrainSettings, total: int) -> str:
    """Why training ended: ``time_budget``, ``stop_requested`` (a STOP file in the work folder,
    e.g. a hyperparameter search pruning the run), ``early_stopping``, ``max_steps`` or
    ``epochs``."""
    if state.out_of_time:
        return "time_budget"
    if getattr(state, "stop_requested", False):
        return "stop_requested"
    if state.stopper.should_stop:
        return "early_stopping"
    return "max_steps" if s.max_steps and state.step >= total else "epochs"

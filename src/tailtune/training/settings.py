"""Plain settings of the training loop (the builder maps ``TrainConfig`` onto these kwargs)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tailtune.errors import ConfigError

__all__ = ["TrainSettings"]


@dataclass
class TrainSettings:
    """Everything the loop needs besides the model, the data, the loss and the metrics."""

    epochs: float = 3.0
    max_steps: int | None = None
    batch_size: int = 32
    eval_batch_size: int = 64
    lr: float = 2e-5
    head_lr: float | None = None
    weight_decay: float = 0.01
    scheduler: str = "linear"
    warmup_ratio: float = 0.0
    grad_clip: float | None = 1.0
    grad_accum: int = 1
    eval_every: int | None = None  # optimizer steps; None = at the end of every epoch
    early_stopping_metric: str = "macro_f1"
    patience: int | None = 3
    min_delta: float = 0.0
    keep_checkpoints: int = 1
    precision: str = "no"
    gradient_checkpointing: bool = False
    group_by_length: bool = True
    optimizer: str = "adamw"
    device: str = "auto"
    not_learning_steps: int = 100
    tracker: str = "none"
    num_threads: int | None = None
    seed: int = 42
    sampler: str = "none"
    sampler_epoch_size: int | None = None
    progress: bool = True
    resume: bool = False

    @classmethod
    def from_kwargs(cls, **kwargs) -> TrainSettings:
        """Build from keyword arguments, ignoring keys that are not loop settings."""
        names = {f.name for f in dataclasses.fields(cls)}
        settings = cls(**{k: v for k, v in kwargs.items() if k in names})
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field."""
        if self.scheduler not in ("linear", "cosine", "constant"):
            raise ConfigError(
                f"train.scheduler: got {self.scheduler!r}, expected linear, cosine or constant"
            )
        if self.precision not in ("no", "bf16", "fp16"):
            raise ConfigError(f"train.precision: got {self.precision!r}, expected no, bf16 or fp16")
        if self.max_steps is None and self.epochs <= 0:
            raise ConfigError(f"train.epochs: got {self.epochs}, expected a positive number")
        for name in ("batch_size", "eval_batch_size", "grad_accum", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name}: got {getattr(self, name)}, expected at least 1")
        if self.eval_every is not None and self.eval_every < 1:
            raise ConfigError(f"train.eval_every: got {self.eval_every}, expected at least 1")
        if self.optimizer not in ("adamw", "adamw_8bit"):
            raise ConfigError(
                f"train.optimizer: got {self.optimizer!r}, expected adamw or adamw_8bit"
            )
        if self.optimizer == "adamw_8bit" and self.device == "cpu":
            raise ConfigError("train.optimizer=adamw_8bit needs CUDA (bitsandbytes); use adamw")

"""``TrainSettings``: the one schema of the neural training loop (the config's ``train:`` section).

Every field the loop reads is here, documented and validated. The last four fields are filled in
by the backend at fit time (the run's seed, the objective's sampler, whether to draw a progress
bar) and never appear in a config file (``metadata=RUNTIME``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tailtune._settings import RUNTIME, check_choices
from tailtune._settings import from_kwargs as _from_kwargs
from tailtune.errors import ConfigError
from tailtune.training.budget import parse_duration

__all__ = ["TrainSettings"]


@dataclass
class TrainSettings:
    """The neural training loop: epochs, batches, optimizer, schedule, early stopping, devices."""

    epochs: float = 3.0
    """Passes over the training data (fractions allowed); ignored when max_steps is set."""
    max_steps: int | None = None
    """Stop after this many optimizer steps; null = run the epochs."""
    time_budget: float | str | None = None
    """Stop training once this much wall time is spent ("90s", "15m", "2h" or seconds), summed
    over resumed sessions; the last step is evaluated and the best checkpoint kept. null = none."""
    batch_size: int = 32
    """Training examples per micro-batch (per process)."""
    eval_batch_size: int = 64
    """Examples per batch at evaluation and prediction."""
    lr: float = 2e-5
    """Peak learning rate of AdamW."""
    head_lr: float | None = None
    """Learning rate of the classification head; null = lr."""
    weight_decay: float = 0.01
    """AdamW weight decay (never on biases and norms)."""
    scheduler: Literal["linear", "cosine", "constant"] = "linear"
    """Learning-rate schedule after warmup."""
    warmup_ratio: float = 0.0
    """Share of the steps spent warming the learning rate up from 0, in [0, 1)."""
    grad_clip: float | None = 1.0
    """Clip the gradient norm at this value; null = no clipping."""
    grad_accum: int = 1
    """Micro-batches accumulated per optimizer step."""
    eval_every: int | None = None
    """Evaluate every this many optimizer steps; null = at the end of every epoch."""
    early_stopping_metric: str = "macro_f1"
    """Validation metric that early stopping and the best checkpoint follow."""
    patience: int | None = 3
    """Evaluations without improvement before stopping; null = no early stopping."""
    min_delta: float = 0.0
    """Smallest change of the metric that counts as an improvement."""
    keep_checkpoints: int = 1
    """Checkpoints kept on disk while training (the best is always restored); when the run
    finishes, the newest and the best evaluation's stay (see keep_all_checkpoints)."""
    keep_all_checkpoints: bool = False
    """Keep every checkpoint kept while training when the run finishes (to score them all)."""
    precision: Literal["no", "bf16", "fp16"] = "no"
    """Mixed precision of the forward and backward passes."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about 30% slower."""
    group_by_length: bool = True
    """Batch texts of similar length together (less padding)."""
    optimizer: Literal["adamw", "adamw_8bit"] = "adamw"
    """AdamW, or bitsandbytes' 8-bit AdamW (Dettmers et al. 2022; CUDA only)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: auto = CUDA when available."""
    not_learning_steps: int = 100
    """Warn when the loss stays within 2% of ln K after this many steps."""
    report_to: list[Literal["mlflow", "wandb"]] = field(default_factory=list)
    """Experiment trackers the finished run is reported to: the resolved config as params, the
    history as per-step metrics, final metrics with tiers and 95% bootstrap intervals, the
    report and tables as artifacts (tailtune.tracking; docs/tracking.md). [] = none. A tracker
    that cannot be reached costs one warning; the run is kept."""
    tracking_uri: str | None = None
    """MLflow tracking URI (http://host:5000, sqlite:///path.db, ...); null = the
    MLFLOW_TRACKING_URI variable, else a local store: <runs_dir>/mlflow.db (+ mlartifacts/)."""
    tracking_experiment: str | None = None
    """MLflow experiment / W&B project the run is filed under; null = the run's name."""
    log_model: bool = False
    """Also upload the run's model folder to the trackers (it can be large)."""
    log_every_s: float = 30.0
    """Seconds between plain progress lines on stderr when it is not a terminal (CI, nohup,
    SLURM), and in the run's train.log; a line is also written at every evaluation."""
    num_threads: int | None = None
    """Torch CPU threads; null = torch's default."""
    resume: bool = False
    """Continue the latest interrupted run of this name (runs/.interrupted-*)."""
    refit: bool | None = None
    """After model selection on validation, retrain on train + validation with every choice
    frozen (docs/training.md); null = on when a test split is given, off otherwise."""
    seed: int = field(default=42, metadata=RUNTIME)
    """Seed of data order and dropout (the backend passes the run's seed)."""
    sampler: Literal["none", "class_balanced", "sqrt"] = field(default="none", metadata=RUNTIME)
    """Class-aware batch sampling (the backend passes objective.sampler)."""
    sampler_epoch_size: int | None = field(default=None, metadata=RUNTIME)
    """Examples drawn per epoch by the sampler (the backend passes objective's)."""
    progress: bool = field(default=True, metadata=RUNTIME)
    """Draw a progress bar on the main process."""

    @classmethod
    def from_kwargs(cls, **kwargs) -> TrainSettings:
        """Build from keyword arguments and validate; an unknown keyword is a ConfigError."""
        return _from_kwargs(cls, kwargs, "train")

    def validate(self, where: str = "train") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.max_steps is None and self.epochs <= 0:
            raise ConfigError(f"{where}.epochs: got {self.epochs}, expected a positive number")
        for name in ("batch_size", "eval_batch_size", "grad_accum", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}: got {getattr(self, name)}, expected at least 1")
        for name in ("max_steps", "eval_every", "num_threads", "sampler_epoch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{where}.{name}: got {value}, expected at least 1 (or null)")
        parse_duration(self.time_budget, f"{where}.time_budget")
        for tracker in self.report_to:
            if tracker not in ("mlflow", "wandb"):
                raise ConfigError(
                    f"{where}.report_to: got {tracker!r}, expected a list of: mlflow, wandb"
                )
        if self.log_every_s <= 0:
            raise ConfigError(
                f"{where}.log_every_s: got {self.log_every_s}, expected a positive number of seconds"
            )
        if self.lr <= 0:
            raise ConfigError(f"{where}.lr: got {self.lr}, expected a positive number")
        if self.head_lr is not None and self.head_lr <= 0:
            raise ConfigError(f"{where}.head_lr: got {self.head_lr}, expected a positive number")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"{where}.warmup_ratio: got {self.warmup_ratio}, expected [0, 1)")
        if self.optimizer == "adamw_8bit" and self.device == "cpu":
            raise ConfigError(f"{where}.optimizer=adamw_8bit needs CUDA (bitsandbytes); use adamw")

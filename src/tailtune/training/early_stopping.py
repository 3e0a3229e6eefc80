"""Early stopping on a chosen metric with patience and min_delta (the best evaluation is rarely the last)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["EarlyStopping", "metric_mode"]

# metrics where lower is better; every other key (macro_f1, accuracy, ...) is maximized
_MINIMIZED = {"val_loss", "zero_f1", "train_loss"}


def metric_mode(metric: str) -> str:
    """``min`` for losses and zero-F1 counts, ``max`` for scores."""
    return "min" if metric in _MINIMIZED else "max"


@dataclass
class EarlyStopping:
    """Tracks the best value of ``metric``; ``update`` returns True when it improved.

    An improvement must beat the best by more than ``min_delta``. ``should_stop`` turns True
    after ``patience`` evaluations without one (never when ``patience`` is None).
    """

    metric: str = "macro_f1"
    patience: int | None = 3
    min_delta: float = 0.0
    best: float | None = None
    best_step: int | None = None
    bad_evals: int = 0

    def update(self, value: float, step: int) -> bool:
        """Record one evaluation; True if it is the new best."""
        sign = -1.0 if metric_mode(self.metric) == "min" else 1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.best_step, self.bad_evals = float(value), step, 0
            return True
        self.bad_evals += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Patience exhausted."""
        return self.patience is not None and self.bad_evals >= self.patience

    def state_dict(self) -> dict:
        """Plain state for checkpoints."""
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        for key, value in state.items():
            setattr(self, key, value)

"""Guard rails during training: the not-learning warning, non-finite losses, stop signals."""

from __future__ import annotations

import signal
import threading
from dataclasses import asdict, dataclass, field

from tailtune.errors import TailtuneError

__all__ = [
    "NonFiniteLossError",
    "NotLearningGuard",
    "StopSignals",
    "TrainingInterrupted",
    "nonfinite_message",
]

TOLERANCE = 0.02  # "within 2% of ln K"
WINDOW = 20  # steps averaged before judging


class NonFiniteLossError(TailtuneError):
    """The training loss or gradient became NaN or infinite; the run stopped."""


class TrainingInterrupted(TailtuneError):
    """Ctrl-C or SIGTERM during training; the run's folder is kept for ``train.resume=true``.

    ``exit_code`` is what a shell reports for the signal (128 + its number): 130 for SIGINT,
    143 for SIGTERM, so a batch scheduler sees a terminated job rather than a failed one.
    """

    resumable = True  # the run writer keeps the folder for `train.resume=true`

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


class StopSignals:
    """SIGINT and SIGTERM while training: the first one is noted, not raised.

    The loop checks :attr:`received` after every optimizer step, saves a checkpoint of that
    consistent state and stops; a second Ctrl-C raises KeyboardInterrupt at once (the user
    insists; no new checkpoint, the previous one stands); further ones are ignored while that
    stop unwinds, so it is not cut short half-way. SLURM, Kubernetes and spot instances send SIGTERM
    before they take a machine, hence the same treatment as Ctrl-C. Outside the main thread
    signal handlers cannot be installed, and the defaults stay.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self.insisted = False  # a second SIGINT came
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._note)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if exc_type is None and self.received is not None:
            # it came during the last evaluation: the training is saved; stop as asked
            signal.raise_signal(self.received)

    def _note(self, signum, frame) -> None:
        if self.received is not None and signum == signal.SIGINT:
            if self.insisted:
                return  # a third: the stop is already under way, do not interrupt it again
            self.insisted = True
            raise KeyboardInterrupt
        self.received = signum


@dataclass
class NotLearningGuard:
    """Warn once when, after ``steps`` optimizer steps, the loss is still at the uniform level.

    The uniform level is the loss of predicting 1/K for every class on the same batches (ln K
    for plain cross-entropy; weights, smoothing and logit adjustment change it, so it is measured,
    not assumed). A loss within 2% of it means the model predicts nothing.
    """

    steps: int = 100
    losses: list = field(default_factory=list)
    uniform: list = field(default_factory=list)
    checked: bool = False
    fired: bool = False  # it warned (the evaluation-level not-learning guard then stays quiet)

    @property
    def active(self) -> bool:
        """Whether the guard still needs the uniform-loss baseline of each step."""
        return not self.checked and self.steps > 0

    def observe(self, step: int, loss: float, uniform: float) -> str | None:
        """Record step ``step`` (1-based); return the warning text the one time it fires."""
        if not self.active:
            return None
        self.losses = (self.losses + [loss])[-WINDOW:]
        self.uniform = (self.uniform + [uniform])[-WINDOW:]
        if step < self.steps:
            return None
        self.checked = True
        mean_loss = sum(self.losses) / len(self.losses)
        mean_uniform = sum(self.uniform) / len(self.uniform)
        if abs(mean_loss - mean_uniform) > TOLERANCE * mean_uniform:
            return None
        self.fired = True
        return not_learning_message(step, mean_loss, mean_uniform)

    def state_dict(self) -> dict:
        """Plain state for checkpoints."""
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        for key, value in state.items():
            setattr(self, key, value)


def not_learning_message(step: int, loss: float, uniform: float) -> str:
    """The warning, naming the classic cause first (softmax before cross-entropy) and then the usual others."""
    return (
        f"the model is not learning: after {step} steps the training loss is {loss:.4f}, within "
        f"2% of {uniform:.4f}, the loss of predicting every class with equal probability (ln K). "
        "Usual causes: probabilities passed to cross-entropy instead of logits (softmax applied "
        "before the loss, so gradients nearly vanish); a learning rate far too low or too high; "
        "labels shuffled or misaligned with texts; a frozen model or classification head; all "
        "texts truncated to nothing (check max_length and the text column)."
    )


def nonfinite_message(step: int, epoch: float, what: str, kept: str | None) -> str:
    """One line for a NaN/inf stop, pointing at the last good checkpoint."""
    where = f"; the last good checkpoint is kept at {kept}" if kept else ""
    return (
        f"training stopped at step {step} (epoch {epoch:.2f}): the {what} became NaN or infinite"
        f"{where}. Usual causes: learning rate too high, fp16 overflow (use precision: bf16), "
        "extreme class weights (set objective.weight_cap), or no gradient clipping"
    )

"""``train.time_budget``: a wall-clock limit on training, written "90s", "15m", "2h" or seconds.

The budget counts the training loop's wall time (optimizer steps and evaluations) summed over
every session of a run: a resumed run starts with the time its checkpoint recorded, so
interrupting and resuming neither extends nor shortens the training a config asked for, and a
resumed run stops where the uninterrupted one would have (up to timing noise). Loading the model,
computing embeddings and the final predictions are not counted.
"""

from __future__ import annotations

import re

from tailtune.errors import ConfigError

__all__ = ["FORMS", "budget_spent_message", "parse_duration"]

FORMS = 'a number of seconds or a duration such as "90s", "15m", "2h", "1h30m"'
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smh])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smh]\s*)+$")


def parse_duration(value, where: str = "train.time_budget") -> float | None:
    """Seconds of ``value`` (None stays None); a ConfigError naming ``where`` and the forms."""
    if value is None:
        return None
    seconds = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            if _WHOLE.match(text):
                seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    if seconds is None or not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{where}: got {value!r}, expected {FORMS} (more than 0)")
    return seconds


def budget_spent_message(budget, spent_s: float, step: int) -> str:
    """The one line a run prints (and writes to train.log) when its budget runs out."""
    return (
        f"time budget {budget} spent ({spent_s:.0f}s of training) at step {step}: stopping; "
        "the best evaluation is kept"
    )

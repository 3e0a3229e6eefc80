"""One validation layer for command options, as :mod:`tailtune.config` has for config fields.

Each check raises :class:`~tailtune.errors.TailtuneError` with one line that names the option,
the value given and what was expected, so every command fails the same way (exit 1) before it
does any work, instead of a traceback deep inside (a negative ``--n-boot`` allocating, a
``--top-k 0`` returning nothing, an ``--output`` that replaces its own input).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from tailtune.errors import TailtuneError

__all__ = ["BOOT_MAX", "check_choice", "check_float", "check_int", "check_output", "check_port"]

#: upper bound for bootstrap resamples: beyond it the index matrix alone needs many GiB.
BOOT_MAX = 100_000


def check_int(option: str, value: int | None, lo: int | None = None, hi: int | None = None):
    """``value`` when ``lo <= value <= hi`` (either bound optional); None passes through."""
    if value is None:
        return None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise TailtuneError(f"{option} {value}: expected {_range(lo, hi)}")
    return value


def check_float(option: str, value: float | None, lo: float | None = None, hi: float | None = None):
    """Like :func:`check_int`, and the value must be finite (no nan, no inf)."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise TailtuneError(f"{option} {value}: expected a finite number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise TailtuneError(f"{option} {value}: expected {_range(lo, hi)}")
    return value


def check_choice(option: str, value: str | None, choices: Iterable[str]) -> str | None:
    """``value`` when it is one of ``choices`` (with a "did you mean"); None passes through."""
    if value is None:
        return None
    choices = list(choices)
    if value not in choices:
        import difflib

        close = difflib.get_close_matches(value, choices, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise TailtuneError(f"{option} {value}: expected one of {', '.join(choices)}{hint}")
    return value


def check_port(option: str, value: int) -> int:
    """A TCP port: 0 (any free port) to 65535."""
    return check_int(option, value, 0, 65535)


def check_output(
    option: str, path: str | Path | None, *, inputs: Iterable = (), force: bool = False
) -> Path | None:
    """An output file that can be written, is none of ``inputs`` and exists only with --force.

    One rule for every command: an output never replaces an input (not even with ``--force``),
    and an existing output is replaced only when ``--force`` is given.
    """
    if path is None:
        return None
    from tailtune.workflow.apply import check_output_path

    p = Path(path)
    check_output_path(p, option)
    for src in inputs:
        if src is not None and Path(src).exists() and p.exists() and p.samefile(src):
            raise TailtuneError(f"{option} {p}: is also an input; choose another output file")
    if p.exists() and not force:
        raise TailtuneError(f"{option} {p}: already exists; add --force to replace it")
    return p


def _range(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"a value from {lo} to {hi}"
    return f"a value >= {lo}" if lo is not None else f"a value <= {hi}"

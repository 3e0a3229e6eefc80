"""User-facing errors: one clear line, exit code 1, never a traceback.

Raise :class:`TailtuneError` (or a subclass) for anything the user can fix — a missing file, an
unknown column, a bad config value. The CLI catches it and prints ``error: <message>``.
"""

from __future__ import annotations

__all__ = ["TailtuneError", "ConfigError", "DataError", "MissingExtraError"]


class TailtuneError(Exception):
    """An error the user can fix; its message is the whole story, on one line."""


class ConfigError(TailtuneError):
    """A config field has an unknown name or a bad value."""


class DataError(TailtuneError):
    """An input file is missing, unreadable or malformed; the message names file, row or field."""


class MissingExtraError(TailtuneError):
    """An optional dependency is not installed; the message names the extra to install."""

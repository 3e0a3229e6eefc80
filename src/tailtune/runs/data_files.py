"""Find a run's data files again, from any folder, and check they are the files it trained on.

A run records each data file it read by absolute path, size and SHA-256 (``data.json`` →
``fingerprint``, :mod:`tailtune.data.fingerprint`). Commands that re-read a run's data
(``evaluate --split``, ``--promote``, ``advise RUN``, a resume) locate each file of the run's
config here: a path as written when it exists from the current folder, else the absolute path
recorded at training. A run moved to another machine, or whose data moved, takes the files with
``--data`` (in place of ``data.path``). Either way a file whose size or hash differs from the
record is named as changed: its split would not be the run's split, so its scores would not be
the run's.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tailtune.errors import DataError

__all__ = ["locate_data"]

_FILE_FIELDS = ("path", "val_path", "test_path")


def locate_data(run, data: list[str | Path] | None = None) -> dict[str, Any]:
    """``run.config`` (a copy) with its data files found and checked against the fingerprint.

    ``run`` is a :class:`~tailtune.runs.reader.Run`; ``data`` replaces ``data.path`` (the files
    of a moved run, in the order they were given at training). Raises DataError naming a file
    that cannot be found (with its recorded path, size and hash and the ``--data`` hint) or one
    that changed since training.
    """
    config = copy.deepcopy(run.config or {})
    section = config.get("data") or {}
    recorded = ((run.data or {}).get("fingerprint") or {}).get("files") or []
    if data:
        given = [Path(p) for p in data]
        for p in given:
            if not p.exists():
                raise DataError(f"--data {p}: file not found")
        trained = section.get("path")
        trained = [trained] if isinstance(trained, str) else list(trained or [])
        if trained and len(trained) != len(given):
            raise DataError(
                f"--data: the run trained on {len(trained)} file(s) ({', '.join(trained)}); "
                f"give the same number (got {len(given)})"
            )
        for old, new in zip(trained, given, strict=False):
            entry = _entry(recorded, old)
            if entry is not None:
                _check(new, entry, f"--data {new}")
        found = [str(p.absolute()) for p in given]
        section["path"] = found[0] if len(found) == 1 else found
        fields = ("val_path", "test_path")
    else:
        fields = _FILE_FIELDS
    for key in fields:
        value = section.get(key)
        if isinstance(value, str):
            section[key] = _locate(value, recorded, f"data.{key}", run.path)
        elif isinstance(value, list):
            section[key] = [_locate(v, recorded, f"data.{key}", run.path) for v in value]
    config["data"] = section
    return config


def _locate(value: str, recorded: list[dict], field: str, run_path: Path) -> str:
    """The file ``value`` names, checked; a name that was never a file (a hub id) unchanged."""
    entry = _entry(recorded, value)
    here = Path(value)
    if here.exists():
        if entry is not None:
            _check(here, entry, f"{field} {value}")
        return str(here.absolute())
    if entry is None:
        return value  # a Hugging Face dataset name, or a run from before fingerprints
    there = Path(entry["path"])
    if there.exists():
        _check(there, entry, f"{field} {there}")
        return str(there)
    raise DataError(
        f"{run_path}: {field} {value} not found (trained on {there}, {entry['bytes']:,} bytes, "
        f"sha256 {entry['sha256'][:12]}…); give the run's data with --data FILE"
    )


def _entry(recorded: list[dict], value: str) -> dict | None:
    """The fingerprint of ``value``: the same absolute path, else a recorded path ending in it."""
    want = Path(value)
    for entry in recorded:
        if want.is_absolute() and Path(entry["path"]) == want:
            return entry
    if want.is_absolute():
        return None
    parts = [p for p in want.parts if p not in (".", "")]
    for entry in recorded:
        got = Path(entry["path"]).parts
        if parts and list(got[-len(parts) :]) == parts:
            return entry
    return None


def _check(path: Path, entry: dict, what: str) -> None:
    """DataError when ``path`` is not the file of ``entry`` (size first: it costs nothing)."""
    from tailtune.data.fingerprint import file_digest

    size = path.stat().st_size if path.is_file() else None
    if size is not None and size != entry["bytes"]:
        now = f"{size:,} bytes"
    else:
        digest = file_digest(path)
        if digest["bytes"] == entry["bytes"] and digest["sha256"] == entry["sha256"]:
            return
        now = f"{digest['bytes']:,} bytes, sha256 {digest['sha256'][:12]}…"
    raise DataError(
        f"{what}: changed since training (trained on {entry['bytes']:,} bytes, sha256 "
        f"{entry['sha256'][:12]}…; now {now}); its split would not be the run's: give the "
        "file the run trained on"
    )

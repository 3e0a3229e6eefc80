"""One lock file per config in progress, so two drivers never train the same config at once.

The lock is an exclusive ``flock`` on ``<experiment>/.locks/<run id>.lock``; the file holds the
holder's PID, host and start time for whoever finds it taken. The kernel drops a ``flock`` when
the last descriptor of the open file closes, so a lock whose process was killed (``kill -9``,
out of memory) is free at once: a stale lock file of a dead PID is simply taken over. The
processes executor hands the descriptor to its worker, so the lock lasts as long as the worker
does, even when the driver dies first. ``flock`` is local to one machine (and NFS-emulated);
drivers on several machines sharing one folder should use one driver with the Ray executor.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from tailtune.runs.index import pid_alive

__all__ = ["ConfigLock"]


class ConfigLock:
    """A non-blocking exclusive lock on ``path``; ``fd`` is the descriptor that holds it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if free (True), or leave it to its holder (False)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            # the holder we waited on may have removed the file: a lock on an unlinked inode
            # would exclude nobody, so retry on the path's current file
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.write(fd, json.dumps(info).encode())
        self.fd = fd
        return True

    def holder(self) -> dict[str, Any] | None:
        """Who the file names as holder, with ``alive`` (checked on this host only)."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return None
        if not info.get("pid"):
            return None
        same_host = info.get("host") == socket.gethostname()
        info["alive"] = pid_alive(info["pid"]) if same_host else None
        return info

    def release(self) -> None:
        """Remove the file and drop the lock (unlink first, so no one locks a doomed inode)."""
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> ConfigLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

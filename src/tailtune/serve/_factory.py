"""The app factory uvicorn worker processes import (``serve_run(..., workers=N)``).

A worker must not outlive its supervisor: after a ``kill -9`` of the supervisor nothing would
stop it, and it would keep serving (and holding the port) unsupervised. On Linux the kernel
sends SIGTERM when the parent goes (``PR_SET_PDEATHSIG``); everywhere a watchdog thread notices
the parent pid change and ends the worker (SIGTERM, then a hard exit if it does not stop).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
GRACE_S = 10.0


def app_from_env():
    """Build the app from the settings ``serve_run`` put in the environment."""
    from tailtune.serve import ENV_SETTINGS, create_app

    settings = json.loads(os.environ[ENV_SETTINGS])
    die_with_parent(settings.pop("supervisor", None))
    return create_app(settings.pop("source"), **settings)


def die_with_parent(supervisor: int | None = None, poll_s: float = 0.5) -> None:
    """End this process when its parent ends (see the module docstring); at once when the
    parent is no longer ``supervisor`` (it died before this worker got here)."""
    parent = os.getppid()
    if supervisor is not None and parent != supervisor:
        os._exit(1)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog below is enough
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE_S)
        os._exit(1)  # a graceful shutdown that hangs must not keep the port

    threading.Thread(target=watch, name="tailtune-parent-watch", daemon=True).start()

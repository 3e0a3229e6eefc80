"""``tailtune serve``: a run's model behind an HTTP JSON API (FastAPI + uvicorn).

``create_app(path, max_batch=, max_wait_ms=, max_text_chars=, max_texts=)`` builds the app for a
run directory or an ONNX export folder; ``serve_run`` runs it with uvicorn, in ``workers``
processes when asked. docs/deploy.md shows requests and answers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tailtune._extras import require

__all__ = ["create_app", "check_bind", "serve_run", "ENV_SETTINGS"]

ENV_SETTINGS = "TAILTUNE_SERVE_SETTINGS"


def create_app(source: str | Path, **limits):
    """The FastAPI app (see :func:`tailtune.serve.app.create_app`)."""
    require("fastapi", "tailtune serve")
    from tailtune.serve.app import create_app as build

    return build(source, **limits)


def serve_run(
    source: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "warning",
    announce=None,
    **limits,
) -> None:
    """Serve ``source`` until interrupted. With ``workers > 1`` every uvicorn worker process
    builds its own app (and loads its own copy of the model) from the settings in
    ``$TAILTUNE_SERVE_SETTINGS``, and ends when its supervisor does (:mod:`._factory`).

    Everything that can fail at startup — the model, the address, the port — is checked before
    ``announce()`` is called (the CLI prints "serving …" there), each as one TailtuneError line.
    """
    uvicorn = require("uvicorn", "tailtune serve")
    from tailtune.errors import TailtuneError
    from tailtune.serve.predictor import load_predictor

    if workers < 1:
        raise TailtuneError(f"serve: --workers must be at least 1, got {workers}")
    if workers == 1:
        app = create_app(source, **limits)
    else:
        load_predictor(source, threads=limits.get("threads"))  # fail here, once, on a bad source
    check_bind(host, port)
    if announce is not None:
        announce()
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    settings = {"source": str(source), "supervisor": os.getpid(), **limits}
    os.environ[ENV_SETTINGS] = json.dumps(settings)
    uvicorn.run(
        "tailtune.serve._factory:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


def check_bind(host: str, port: int) -> None:
    """One TailtuneError line when ``host:port`` cannot be listened on (an unknown host, an
    address not on this machine, a port in use or reserved), instead of uvicorn's log line and
    exit code 3. The socket is closed again; uvicorn binds it a moment later."""
    import errno
    import socket

    from tailtune.errors import TailtuneError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise TailtuneError(f"--host {host}: not an address or a known host name ({exc})") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                why = "already in use (another server?); choose another --port"
            elif exc.errno == errno.EADDRNOTAVAIL:
                why = "not an address of this machine; choose another --host"
            elif exc.errno == errno.EACCES:
                why = "not permitted (ports below 1024 need privileges); choose another --port"
            else:
                why = exc.strerror or str(exc)
            raise TailtuneError(f"--host {host} --port {port}: cannot listen there: {why}") from exc

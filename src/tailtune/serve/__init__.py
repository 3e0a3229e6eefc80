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

__all__ = ["create_app", "serve_run", "ENV_SETTINGS"]

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
    **limits,
) -> None:
    """Serve ``source`` until interrupted. With ``workers > 1`` every uvicorn worker process
    builds its own app (and loads its own copy of the model) from the settings in
    ``$TAILTUNE_SERVE_SETTINGS``."""
    uvicorn = require("uvicorn", "tailtune serve")
    from tailtune.serve.predictor import load_predictor

    if workers < 1:
        from tailtune.errors import TailtuneError

        raise TailtuneError(f"serve: --workers must be at least 1, got {workers}")
    if workers == 1:
        app = create_app(source, **limits)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    load_predictor(source, threads=limits.get("threads"))  # fail here, once, on a bad source
    os.environ[ENV_SETTINGS] = json.dumps({"source": str(source), **limits})
    uvicorn.run(
        "tailtune.serve._factory:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )

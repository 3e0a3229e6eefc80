"""The app factory uvicorn worker processes import (``serve_run(..., workers=N)``)."""

from __future__ import annotations

import json
import os


def app_from_env():
    """Build the app from the settings ``serve_run`` put in the environment."""
    from tailtune.serve import ENV_SETTINGS, create_app

    settings = json.loads(os.environ[ENV_SETTINGS])
    return create_app(settings.pop("source"), **settings)

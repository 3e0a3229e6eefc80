"""Shared fixtures for the data-layer tests: the real data folder (skips cleanly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo (or $TAILTUNE_SHARED_DATA); skip when it is not there."""
    root = Path(os.environ.get("TAILTUNE_SHARED_DATA", _REPO / "../shared/data")).resolve()
    if not root.is_dir():
        pytest.skip(f"real data folder not found: {root}")
    return root

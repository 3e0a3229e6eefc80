"""Is the Hugging Face Hub within reach? One answer for models, data sets and pushes.

A quick TCP probe (3 s) of the Hub's endpoint, cached per process, and the ``HF_HUB_OFFLINE``
switch: a machine without a network gets one clear line instead of minutes of retries.
"""

from __future__ import annotations

import functools
import os
import socket

__all__ = ["hub_endpoint", "hub_offline", "reachable", "unreachable_reason"]


def hub_endpoint() -> str:
    """The Hub's address (``HF_ENDPOINT`` or huggingface.co)."""
    try:
        from huggingface_hub import constants

        return str(constants.ENDPOINT)
    except ImportError:  # pragma: no cover - transformers and datasets require huggingface_hub
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` is set (to anything but 0)."""
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "")


@functools.lru_cache(maxsize=8)
def reachable(endpoint: str, timeout: float = 3.0) -> bool:
    """Can a TCP connection to the Hub be opened? (DNS failure or a timeout: no.) Cached per
    process: a model-scaling experiment asks once, not per run."""
    from urllib.parse import urlparse

    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def unreachable_reason() -> str | None:
    """Why the Hub cannot be used now ("HF_HUB_OFFLINE is set", "<endpoint> cannot be
    reached"), or None when it can."""
    if hub_offline():
        return "HF_HUB_OFFLINE is set"
    endpoint = hub_endpoint()
    return None if reachable(endpoint) else f"{endpoint} cannot be reached"

"""Predictions registered before results: each version of an experiment's prediction with its
text, hash and the time it was registered (the first when the first run starts).

Editing the prediction later does not re-stamp it: the edit becomes a new version, marked
``after_results`` when finished runs already existed, and the record then says "prediction
changed after results" beside every verdict and keeps the original prediction's verdict
visible (a prediction rewritten to fit the figures is no prediction).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["AFTER_RESULTS", "prediction_hash", "register_prediction"]

AFTER_RESULTS = "prediction changed after results"


def prediction_hash(text: str, expected: dict | None) -> str:
    """sha256 of the prediction's text and structured form (canonical JSON)."""
    body = json.dumps({"text": text, "expected": expected}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def register_prediction(old: dict[str, Any], text: str, expected: dict | None,
                        results_exist: bool, now: str) -> list[dict[str, Any]]:  # fmt: skip
    """The versions of the prediction after registering (``text``, ``expected``).

    ``old`` is the previous experiment.json (empty the first time); an unchanged prediction
    keeps its versions as they are; a changed one is appended as the next version.
    """
    versions = [dict(v) for v in old.get("prediction_versions") or []]
    if not versions and old.get("prediction") is not None:  # a plan written before versions
        versions = [_version(1, old["prediction"], old.get("expected"),
                             old.get("prediction_written"), False)]  # fmt: skip
    digest = prediction_hash(text, expected)
    if not versions or versions[-1]["hash"] != digest:
        versions.append(_version(len(versions) + 1, text, expected, now, results_exist))
    return versions


def _version(n: int, text: str, expected, when, after: bool) -> dict[str, Any]:
    return {"version": n, "text": text, "expected": expected,
            "hash": prediction_hash(text, expected), "registered": when,
            "after_results": bool(after)}  # fmt: skip

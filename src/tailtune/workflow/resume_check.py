"""Resume with the config that ran: a changed field is refused, except the few that cannot
change what the model learns (a time budget, threads, logging, tracking, checkpoints kept).

The checkpoint holds the optimizer, the scheduler (its total steps) and the data order of the
config that started the run; continuing it under another learning rate or epoch count would
train on with the old values while config.yaml claimed the new ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tailtune.config import config_from_dict, config_to_dict
from tailtune.errors import DataError
from tailtune.runs import layout
from tailtune.runs.index import flatten_config

__all__ = ["SAFE_ON_RESUME", "resume_changes"]

SAFE_ON_RESUME = (
    "train.time_budget", "train.num_threads", "train.log_every_s", "train.keep_checkpoints",
    "train.report_to", "train.tracking_uri", "train.tracking_experiment", "train.log_model",
)  # fmt: skip
_IGNORED = ("name", "runs_dir", "train.resume")  # the run's identity and the resume itself


def resume_changes(cfg, folder: Path) -> dict[str, dict[str, Any]]:
    """``{field: {"was", "now"}}`` for the safe fields ``cfg`` changes against the config the
    unfinished run in ``folder`` recorded; any other difference raises one DataError line."""
    path = Path(folder) / layout.CONFIG
    if not path.is_file():
        return {}
    was = flatten_config(config_to_dict(config_from_dict(yaml.safe_load(path.read_text(
        encoding="utf-8")) or {})))  # fmt: skip
    now = flatten_config(config_to_dict(cfg))
    diff = {k: {"was": was.get(k), "now": now.get(k)} for k in sorted(set(was) | set(now))
            if k not in _IGNORED and was.get(k) != now.get(k)}  # fmt: skip
    refused = [k for k in diff if k not in SAFE_ON_RESUME]
    if refused:
        fields = ", ".join(f"{k} ({diff[k]['was']!r} → {diff[k]['now']!r})" for k in refused)
        raise DataError(
            f"train.resume: {folder} was started with another config; differing fields: "
            f"{fields}. Resume with the recorded config (tailtune train --resume {folder}) or "
            "start a new run; only " + ", ".join(SAFE_ON_RESUME) + " may change on resume"
        )
    return diff

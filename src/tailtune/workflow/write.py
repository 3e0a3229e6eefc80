"""Write: every artifact of a fitted, scored run into its (temporary) run directory."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from tailtune.config import Config
from tailtune.runs import RunWriter, environment, layout
from tailtune.workflow.prepare import Prepared, build_hierarchy
from tailtune.workflow.score import train_counts

__all__ = ["write_run"]


def write_run(
    run: RunWriter,
    cfg: Config,
    backend,
    prepared: Prepared,
    scored,
    timing,
    started,
    refit=None,
    choices=None,
    resume_changes=None,
):
    """Write every artifact of a fitted, scored run (file names in :mod:`tailtune.runs.layout`)."""
    from tailtune.data import class_stats, split_stats
    from tailtune.data.fingerprint import data_fingerprint
    from tailtune.evaluation import resolve_tiers

    ev, train_df = cfg.eval, prepared.train
    counts = train_counts(prepared)
    for split, result in scored.items():
        run.write_csv(layout.per_class_file(split), result["per_class"])
    frames = [result["predictions"] for result in scored.values()]
    run.write_csv(layout.PREDICTIONS, pd.concat(frames, ignore_index=True))
    probabilities = {split: r["proba"].astype(np.float32) for split, r in scored.items()}
    classes = np.asarray(backend.classes_, dtype=str)
    run.write_arrays(layout.PROBABILITIES, classes=classes, **probabilities)
    backend.save(run.path(layout.MODEL))
    # tiers: explicit thresholds, else the fixed defaults, else data-driven (evaluation/tiers.py)
    tiers = resolve_tiers(counts, ev.head_min, ev.tail_max)
    labels = {"classes": classes.tolist(), "train_counts": counts, **tiers.record()}
    if cfg.data.hierarchy:
        labels["hierarchy"] = build_hierarchy(cfg.data, list(counts)).to_dict()
    run.write_json(layout.LABELS, labels)
    stats = {**class_stats(train_df["label"]), **tiers.class_stats(counts)}
    val_stats = split_stats(train_df["label"], prepared.val["label"])
    fingerprint = data_fingerprint(_data_paths(cfg), train_df)
    run.write_json(layout.DATA, {**prepared.reports, "fingerprint": fingerprint,
                                 "train_stats": stats, "val_stats": val_stats})  # fmt: skip
    info = dict(getattr(backend, "info_", {}) or {})
    guards = [*info.pop("guards", []), *prepared.reports.get("guards", [])]
    run.write_json(layout.ENV, environment(seed=cfg.seed, device=str(info.get("device", "cpu"))))
    metrics: dict[str, Any] = {split: result["metrics"] for split, result in scored.items()}
    metrics.update(
        {
            "name": cfg.name,
            "backend": str(getattr(backend, "name", cfg.model.backend)),  # hierarchical: its own
            "model": cfg.model.name,
            "train_size": len(train_df),
            "n_classes": len(counts),
            "macro_over": "classes present in the evaluation split's gold labels",
            "tiers_rule": tiers.rule,
            "timing": {**timing, "total_s": round(time.perf_counter() - started, 3)},
            "info": info,
            "guards": guards,  # tailtune.guards findings: during training, and leakage
        }
    )
    if refit is not None:
        metrics["refit"] = refit
    if choices is not None:  # what the fit chose on which rows (tailtune.workflow.choices)
        metrics["choices"] = choices
    if resume_changes:  # safe fields changed on resume: config.yaml has the new values
        metrics["resume_changes"] = resume_changes
    run.write_json(layout.METRICS, metrics)


def _data_paths(cfg: Config) -> list[str]:
    """The data files a run read (path, val_path, test_path), for their digests."""
    out: list[str] = []
    for value in (cfg.data.path, cfg.data.val_path, cfg.data.test_path):
        out += [value] if isinstance(value, str) else list(value or [])
    return out

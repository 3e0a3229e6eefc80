"""Fit: the texts a backend trains on, and the backend built from the config and fitted."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from tailtune.config import Config
from tailtune.errors import ConfigError
from tailtune.workflow.prepare import Prepared
from tailtune.workflow.refit import check_no_validation

__all__ = ["check_trainable", "fit_backend", "training_inputs"]


def check_trainable(cfg: Config) -> None:
    """Raise ConfigError when the configured backend cannot train on the data's label kind."""
    if cfg.data.multi_label == "sets":
        # until a backend takes label sets, never train on the set strings as composite classes
        raise ConfigError(
            f"data.multi_label: sets: backend '{cfg.model.backend}' does not train on label sets "
            "yet; set data.multi_label: keep (each set one class) or single (single-label rows)"
        )


def training_inputs(cfg: Config, train_df: pd.DataFrame) -> tuple[list, list, dict]:
    """The texts and labels a backend fits on: the training split, plus label-name examples
    when ``objective.label_name_examples`` asks for them (and a report of what was added)."""
    texts, labels = train_df["text"].tolist(), train_df["label"].tolist()
    copies = cfg.objective.label_name_examples
    if not copies:
        return texts, labels, {}
    from tailtune.objectives.label_names import label_name_examples, read_descriptions

    descriptions = {}
    if cfg.objective.label_descriptions:
        descriptions = read_descriptions(cfg.objective.label_descriptions)
    classes = sorted({str(c) for c in labels})
    extra_texts, extra_labels = label_name_examples(classes, copies, descriptions)
    report = {
        "copies": copies,
        "added": len(extra_texts),
        "described": sum(c in descriptions for c in classes),
        "unused_descriptions": sorted(set(descriptions) - set(classes)),
    }
    return texts + extra_texts, labels + extra_labels, report


def fit_backend(cfg: Config, prepared: Prepared, texts, labels, work_dir: Path, say):
    """Build the configured backend and fit it (checkpoints go to ``work_dir``); seconds taken."""
    from tailtune.backends import build_backend

    check_trainable(cfg)
    backend = build_backend(cfg)
    say(f"fitting {cfg.model.backend}" + (f" ({cfg.model.name})" if cfg.model.name else ""))
    started = time.perf_counter()
    val = prepared.val
    eval_set = (val["text"].tolist(), val["label"].tolist()) if len(val) else None
    if eval_set is None:  # split.val: 0 — only backends that choose nothing on validation
        check_no_validation(backend)
    backend.fit(texts, labels, eval_set=eval_set, work_dir=work_dir)
    return backend, time.perf_counter() - started

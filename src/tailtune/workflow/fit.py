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
    """Raise ConfigError when the configured backend cannot train on the data's label kind (the
    backend answers: ``takes_sets``), before any data is read."""
    if cfg.data.multi_label != "sets":
        return
    from tailtune.backends import build_backend

    backend = build_backend(cfg)
    if not getattr(backend, "takes_sets", False):
        # never train on the set strings as composite classes behind the user's back
        raise ConfigError(backend.sets_refusal_line())


def training_inputs(cfg: Config, train_df: pd.DataFrame) -> tuple[list, list, dict]:
    """The texts and labels a backend fits on: the training split, plus label-name examples
    when ``objective.label_name_examples`` asks for them (and a report of what was added)."""
    texts, labels = train_df["text"].tolist(), train_df["label"].tolist()
    copies = cfg.objective.label_name_examples
    sets = cfg.data.multi_label == "sets"
    if sets:
        from tailtune.data.labelsets import parse_sets

        labels = parse_sets(labels, cfg.data.multi_label_separator)
    if not copies:
        return texts, labels, {}
    from tailtune.objectives.label_names import label_name_examples, read_descriptions

    descriptions = {}
    if cfg.objective.label_descriptions:
        descriptions = read_descriptions(cfg.objective.label_descriptions)
    classes = sorted({str(c) for s in labels for c in s} if sets else {str(c) for c in labels})
    extra_texts, extra_labels = label_name_examples(classes, copies, descriptions)
    if sets:  # a label's name is a text carrying that one label
        extra_labels = [(str(c),) for c in extra_labels]
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
    eval_set = (val["text"].tolist(), prepared.labels_of(val)) if len(val) else None
    if eval_set is None:  # split.val: 0 — only backends that choose nothing on validation
        check_no_validation(backend)
    backend.fit(texts, labels, eval_set=eval_set, work_dir=work_dir)
    return backend, time.perf_counter() - started

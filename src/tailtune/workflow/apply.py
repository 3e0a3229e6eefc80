"""Use a finished run on files it never saw: evaluate a labelled file, predict an unlabelled one.

Both read through the checked loader training uses (:mod:`tailtune.data.load`,
:mod:`tailtune.data.texts`) with the run's own data options, applied to one new file: a
``skip_rows`` list made for several training files becomes one number, the encoding is the
run's unless ``--set data.encoding=…`` says otherwise, and every ``data.*`` field can be
overridden the same way. Output paths are checked before the model is loaded, so a typo in
``--output`` never costs a prediction pass.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailtune.config import apply_overrides, config_from_dict
from tailtune.errors import ConfigError, DataError
from tailtune.runs import layout, read_run
from tailtune.workflow.prepare import load_frame
from tailtune.workflow.score import score_split

__all__ = [
    "check_output_path",
    "evaluate",
    "evaluate_file",
    "file_data_options",
    "predict",
    "predict_file",
    "read_texts",
    "unseen",
]


def file_data_options(run_config: dict, overrides: list[str] | None = None, path=None):
    """The run's data options for reading ONE new file (``path``), and notes on what changed.

    ``overrides`` are ``data.field=value`` strings (the CLI's ``--set``); other sections are
    refused, since evaluating a run cannot change how it was trained.
    """
    sets = list(overrides or [])
    for item in sets:
        if not item.strip().startswith("data."):
            raise ConfigError(f"--set '{item}': only data.* fields apply to reading a new file")
    raw = {"data": dict((run_config or {}).get("data") or {})}
    notes: list[str] = []
    skip = raw["data"].get("skip_rows", 0)
    given = any(_sets(sets, "skip_rows"))
    if isinstance(skip, list) and not given:
        # per-file values of the training files say nothing certain about a new file: equal
        # values carry over, differing ones fall back to none skipped (and the user is told)
        one = skip[0] if skip and len(set(skip)) == 1 else 0
        raw["data"]["skip_rows"] = one
        if len(set(skip)) > 1:
            notes.append(
                f"data.skip_rows: the run skipped {skip} lines of its training files; this "
                f"file is read with skip_rows={one} (--set data.skip_rows=N to change)"
            )
    fmt = raw["data"].get("format", "auto")
    if fmt != "auto" and path is not None and not any(_sets(sets, "format")):
        # the training files' format does not bind a new file whose suffix names another one
        from tailtune.data._formats import suffix_format

        if suffix_format(path) not in (None, fmt):
            raw["data"]["format"] = "auto"
    raw = apply_overrides(raw, sets)
    data = config_from_dict(raw).data
    if isinstance(data.skip_rows, list):
        raise ConfigError(f"data.skip_rows: got {data.skip_rows}; one new file takes one number")
    return data, notes


def check_output_path(path: str | Path | None, what: str = "--output") -> None:
    """Raise DataError now (before any work) when ``path`` cannot be written as a file."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise DataError(f"{what} {p}: is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise DataError(f"{what} {p}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{what} {p}: cannot write in {existing} (permission denied)")
    if p.exists() and not os.access(p, os.W_OK):
        raise DataError(f"{what} {p}: the file exists and is not writable")


def unseen(gold_labels, classes) -> dict[str, Any]:
    """Labels of an evaluation file the run never trained on: names, count and rows."""
    from collections import Counter

    known = {str(c) for c in classes}
    rows = Counter(str(g) for g in gold_labels if str(g) not in known)
    names = sorted(rows)
    return {"count": len(names), "rows": int(sum(rows.values())), "labels": names}


def evaluate_file(
    run_path: str | Path,
    data_path: str | Path,
    overrides: list[str] | None = None,
    *,
    model_dir: str | Path | None = None,
    say=None,
) -> dict[str, Any]:
    """Score a run's model (or the model folder ``model_dir``) on one labelled file.

    Returns :func:`tailtune.workflow.score.score_split`'s result plus ``unseen`` (labels the run never
    trained on: they count as misses in every metric), ``data_options`` and ``notes``.
    """
    from tailtune.backends import load_backend
    from tailtune.config import config_from_dict as to_config

    run = read_run(run_path)
    data, notes = file_data_options(run.config, overrides, data_path)
    # a file of one class is a fair thing to score a model on
    frame, _ = load_frame(data, str(data_path), min_classes=1)
    cfg = to_config(run.config)
    labels = run.labels
    classes = labels.get("classes") or []
    gold = frame["label"]
    if cfg.data.multi_label == "sets":  # the labels inside the sets
        from tailtune.data.labelsets import parse_sets

        gold = [x for s in parse_sets(gold, cfg.data.multi_label_separator) for x in s]
    missing = unseen(gold, classes)
    metrics_notes = list(notes)
    if missing["count"]:
        shown = ", ".join(missing["labels"][:10]) + (", ..." if missing["count"] > 10 else "")
        metrics_notes.append(
            f"warning: {missing['count']} label(s) in {Path(data_path).name} were never seen in "
            f"training ({missing['rows']:,} rows, scored as misses): {shown}"
        )
    for line in metrics_notes:
        if say is not None:
            say(line)
    backend = load_backend(Path(model_dir) if model_dir else run.path / layout.MODEL)
    train_counts = {k: int(v) for k, v in labels.get("train_counts", {}).items()}
    scored = score_split(backend, frame, train_counts, cfg, "eval")
    scored["metrics"]["unseen_labels"] = missing
    scored["unseen"] = missing
    scored["notes"] = metrics_notes
    scored["data_options"] = dataclasses.asdict(data)
    return scored


def predict_file(
    run_path: str | Path,
    input_path: str | Path,
    overrides: list[str] | None = None,
    *,
    text_columns: list[str] | None = None,
    top_k: int = 3,
    say=None,
):
    """Predictions (a frame: line, text, pred, prob, top_k) for the texts of one file."""
    run = read_run(run_path)
    result = read_texts(run, input_path, overrides, text_columns=text_columns, say=say)
    frame = predict(run.path, result.texts, top_k=top_k)
    frame.insert(0, "line", result.lines)
    return frame


def read_texts(run, input_path, overrides=None, *, text_columns=None, say=None):
    """The texts of one unlabelled file (``load_texts``' result) read with ``run``'s data
    options; notes on options that changed and skipped empty rows go to ``say``."""
    from tailtune.data.texts import empty_rows_line, load_texts

    data, notes = file_data_options(run.config, overrides, input_path)
    result = load_texts(
        input_path,
        format=data.format,
        text_columns=text_columns or data.text_columns,
        text_separator=data.text_separator,
        column_names=data.column_names,
        skip_rows=data.skip_rows,
        encoding=data.encoding,
    )
    skipped = empty_rows_line(input_path, result)
    for line in notes + ([skipped] if skipped else []):
        if say is not None:
            say(line)
    return result


def _sets(sets: list[str], name: str):
    return (s for s in sets if s.strip().startswith(f"data.{name}="))


def evaluate(
    run_path: str | Path, data_path: str | Path | None = None, overrides: list[str] | None = None
) -> dict[str, Any]:
    """Re-score a run's saved model on a labelled file read with the run's data options.

    The same path as ``tailtune evaluate`` (:func:`evaluate_file`): a run
    trained on several files reads the one file with its options (a per-file ``skip_rows``
    list becomes one number), ``overrides`` are ``data.FIELD=VALUE`` strings, and labels the
    run never trained on count as misses and are named in ``unseen``.
    """
    if data_path is None:
        raise DataError("evaluate: give a labelled file with --data")
    return evaluate_file(run_path, data_path, overrides)


def predict(run_path: str | Path, texts: list[str], top_k: int = 3) -> pd.DataFrame:
    """Predict labels (with top-k probabilities) for raw texts with a run's saved model."""
    from tailtune.backends import load_backend
    from tailtune.workflow.score import decide, path_columns, pred_proba

    run = read_run(run_path)
    backend = load_backend(run.path / layout.MODEL)
    proba = backend.predict_proba(texts)
    classes = np.asarray(backend.classes_, dtype=object)
    top = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
    if backend.space_.kind == "multi":  # the label set the saved thresholds choose
        from tailtune.data.labelsets import join_set

        sep = (run.config.get("data") or {}).get("multi_label_separator")
        pred = [join_set(s, sep) for s in backend.predict(texts)] if texts else []
        prob = proba[np.arange(len(texts)), top[:, 0]] if texts else np.zeros(0)
    else:
        pred = decide(backend, proba)  # the model's saved decision rule (a hierarchy: its path)
        prob = pred_proba(classes, proba, pred)
    frame = pd.DataFrame(
        {
            "text": texts,
            "pred": pred,
            "prob": np.asarray(prob).round(5),
            "top_k": [
                json.dumps([[str(classes[j]), round(float(p[j]), 5)] for j in idx])
                for p, idx in zip(proba, top, strict=True)
            ],
        }
    )
    for name, values in (path_columns(backend, proba) or {}).items():
        frame[name] = values  # the back-off answer and each level's probability
    return frame

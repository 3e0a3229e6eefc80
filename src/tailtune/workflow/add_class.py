"""Add a class to a finished run without retraining, into a NEW run folder.

A backend that can take a class from a few example texts (``add_class``: the prototype
backend's centroids or k-NN rows, over the cached sentence embeddings) gets one here; the
source run is read, never changed. The new folder holds the source's config, data report and
environment, the extended model, labels.json with the new class's example count (tiers
recomputed by the run's rule) and a metrics.json that says where it came from. It holds no
scores: the source's no longer describe the model, so score it with ``tailtune evaluate``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tailtune.errors import DataError, TailtuneError
from tailtune.runs import layout, read_run

__all__ = ["add_class"]

# what the new folder takes from the source as it is: how the base model was made
_COPIED = (layout.CONFIG, layout.DATA, layout.ENV)


def add_class(run_path, label: str, texts_file, out, overrides=None, say=None) -> Path:
    """Write a copy of run ``run_path`` at ``out`` whose model also predicts ``label``.

    ``texts_file`` holds the new class's example texts, read like ``tailtune predict --input``
    (the run's data options, ``overrides`` as ``data.FIELD=VALUE``). ``out`` must not exist;
    nothing is written there unless every step succeeds.
    """
    from tailtune._atomic import atomic_dir
    from tailtune.backends import load_backend
    from tailtune.config import config_from_dict
    from tailtune.evaluation import resolve_tiers
    from tailtune.workflow.apply import read_texts

    out = Path(out)
    if out.exists():
        raise TailtuneError(f"--out {out}: already exists; choose a new folder")
    run = read_run(run_path)
    texts = read_texts(run, texts_file, overrides, say=say).texts
    if not texts:
        raise DataError(f"{texts_file}: no texts for class '{label}'")
    backend = load_backend(run.path / layout.MODEL)
    if not callable(getattr(backend, "add_class", None)):
        raise TailtuneError(
            f"{run.path}: a {backend.name} model cannot take a class without retraining "
            "(the prototype backend can); retrain with the new class's examples"
        )
    backend.add_class(label, texts)
    labels = run.labels
    counts = {**labels.get("train_counts", {}), str(label): len(texts)}
    counts = {c: counts[c] for c in map(str, backend.classes_)}
    ev = config_from_dict(run.config).eval
    labels = {**labels, "classes": list(counts), "train_counts": counts}
    labels.update(resolve_tiers(counts, ev.head_min, ev.tail_max).record())
    added = {"label": str(label), "texts": len(texts), "file": str(texts_file)}
    metrics = {k: v for k, v in run.metrics.items() if not _is_score(v)}
    metrics.update(
        {
            "n_classes": len(counts),
            "train_size": int(run.metrics.get("train_size", 0)) + len(texts),
            "info": dict(backend.info_),
            "source_run": str(run.path),
            "added_classes": [*run.metrics.get("added_classes", []), added],
        }
    )
    with atomic_dir(out) as tmp:
        for name in _COPIED:
            if (run.path / name).is_file():
                shutil.copy2(run.path / name, tmp / name)
        backend.save(tmp / layout.MODEL)
        (tmp / layout.LABELS).write_text(json.dumps(labels, indent=2), encoding="utf-8")
        (tmp / layout.METRICS).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return out


def _is_score(value) -> bool:
    """A split's metrics (``val``, ``test``, a refit's): they scored the source's model."""
    return isinstance(value, dict) and "macro_f1" in value

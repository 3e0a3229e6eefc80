"""What an export reads from a run directory: the loaded backend, its labels, and its texts.

Everything goes through the public surface (``read_run``, ``load_backend``, ``classes_``,
``predict_proba``); the few backend attributes an exporter needs (priors, τ, temperature) are
read here, in one place, so a change to a backend touches one function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.errors import TailtuneError

__all__ = ["Source", "open_run", "posthoc", "reference_proba"]


@dataclass
class Source:
    """A run opened for export."""

    run_path: Path
    backend: Any
    kind: str  # the backend's name: encoder, decoder_lora, tfidf, ...
    classes: list[str]
    max_length: int | None
    val_texts: list[str] = field(repr=False)
    decision: dict | None = None  # a hierarchy's decision rule (PathDecision.to_dict())


def open_run(run_path: str | Path, device: str = "cpu") -> Source:
    """Load a finished run's model (on CPU) and its validation texts (``predictions.csv``)."""
    from tailtune.backends import load_backend
    from tailtune.runs import read_run

    run = read_run(run_path)
    model_dir = run.path / "model"
    if not (model_dir / "backend.json").is_file():
        raise TailtuneError(f"{run.path}: the run has no saved model (model/backend.json)")
    _quiet()
    backend = load_backend(model_dir)
    decision = _path_decision(backend)
    if decision is not None:  # a flat hierarchical model: export its one model over leaf paths
        backend = backend.model_
    _to_cpu(backend, device)
    val = run.split_predictions("val")
    texts = [str(t) for t in val["text"].tolist()] if len(val) else []
    return Source(
        run_path=run.path,
        backend=backend,
        kind=str(backend.name),
        classes=[str(c) for c in backend.classes_],
        max_length=getattr(backend, "max_length", None),
        val_texts=texts,
        decision=decision,
    )


def _path_decision(backend) -> dict | None:
    """The decision rule of a hierarchical model (exported beside its leaf probabilities), or
    None; a top-down model is refused in one line (several classifiers, no single graph)."""
    decision = getattr(backend, "path_decision_", None)
    if decision is None:
        return None
    if getattr(backend, "model_", None) is None:
        raise TailtuneError(
            "export: a top-down hierarchical model chooses among several classifiers; serve the "
            "run with tailtune serve, or train model.hierarchy.strategy: flat to export it"
        )
    return decision.to_dict()


def posthoc(backend) -> tuple[float, float, np.ndarray | None]:
    """``(τ, temperature, class priors)`` that ``predict_proba`` applies after the logits."""
    tau = getattr(backend, "tau_", 0.0)
    temperature = float(getattr(backend, "temperature_", 1.0) or 1.0)
    prior = getattr(backend, "prior_", None)
    return float(tau or 0.0), temperature, None if prior is None else np.asarray(prior, float)


def reference_proba(source: Source, texts: list[str] | None = None) -> np.ndarray:
    """What ``tailtune predict`` gives for ``texts`` (default: the validation texts)."""
    texts = source.val_texts if texts is None else texts
    return np.asarray(source.backend.predict_proba(texts), dtype=np.float64)


def _quiet() -> None:
    """No load reports or progress bars from transformers inside an export."""
    try:
        import transformers
    except ImportError:  # a linear run exports without transformers
        return
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _to_cpu(backend, device: str) -> None:
    """Exports are traced and compared on CPU, whatever device the backend picked."""
    model = getattr(backend, "model_", None)
    if device == "cpu" and model is not None and hasattr(model, "to"):
        model.to("cpu")
        model.eval()

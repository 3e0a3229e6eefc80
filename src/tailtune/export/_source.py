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

__all__ = ["Source", "check_long_text", "open_run", "posthoc", "reference_proba", "stage_source"]


@dataclass
class Source:
    """A run opened for export."""

    run_path: Path
    backend: Any
    kind: str  # the backend's name: encoder, decoder_lora, tfidf, ...
    classes: list[str]
    max_length: int | None
    val_texts: list[str] = field(repr=False)
    long_text: str = "truncate"  # how the model reads a text longer than max_length
    decision: dict | None = None  # a hierarchy's decision rule (PathDecision.to_dict())
    top_down: bool = False  # a top-down hierarchy: ``backend`` holds one classifier per stage


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
    decision = getattr(backend, "path_decision_", None)
    top_down = decision is not None and getattr(backend, "model_", None) is None
    if decision is not None and not top_down:  # flat: export its one model over leaf paths
        backend = backend.model_
    if not top_down:  # a top-down model's stages are moved one by one (stage_source)
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
        long_text=_long_text(backend),
        decision=None if decision is None else decision.to_dict(),
        top_down=top_down,
    )


def stage_source(source: Source, stage, fmt: str, device: str = "cpu") -> Source:
    """One stage of a top-down model, opened for export like a run's own model: checked by the
    format's writer against its own predictions on the run's validation texts."""
    _to_cpu(stage, device)
    out = Source(
        run_path=source.run_path,
        backend=stage,
        kind=str(stage.name),
        classes=[str(c) for c in stage.classes_],
        max_length=getattr(stage, "max_length", None),
        val_texts=source.val_texts,
        long_text=_long_text(stage),
    )
    check_long_text(out, fmt)
    return out


def check_long_text(source: Source, fmt: str) -> None:
    """An hf or onnx model reads one window of ``max_length`` tokens: a run that reads long
    texts in several windows is refused (it would disagree with ``tailtune predict``)."""
    if fmt in ("hf", "onnx") and source.long_text != "truncate":
        raise TailtuneError(
            f"export: --format {fmt}: the run reads long texts as model.long_text="
            f"{source.long_text}, and an exported {fmt} model reads one window of "
            f"{source.max_length} tokens, so it would disagree with tailtune predict on long "
            "texts; serve the run with tailtune serve, or train with model.long_text=truncate"
        )


def _long_text(backend) -> str:
    return getattr(getattr(backend, "window", None), "long_text", "truncate")


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

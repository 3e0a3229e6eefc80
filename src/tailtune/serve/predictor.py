"""What ``tailtune serve`` predicts with: a run's own backend, or an ONNX export of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.errors import TailtuneError

__all__ = ["Predictor", "load_predictor"]


@dataclass
class Predictor:
    """``predict_proba(texts) -> (n, K)`` over ``classes``, with a description for /health."""

    model: Any = field(repr=False)
    classes: list[str]
    kind: str  # "run" (tailtune backend), or the export's format (onnx; any for a top-down one)
    source: str
    backend: str
    rule: Any = None
    """Label sets: the saved :class:`~tailtune.objectives.thresholds.SetRule`; else None."""
    decision: Any = None  # a hierarchy's PathDecision (path, levels, back-off), else None

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(list(texts)), dtype=np.float64)


def load_predictor(path: str | Path, threads: int | None = None) -> Predictor:
    """A run directory (its ``model/`` through ``load_backend``), an ONNX export folder, or a
    top-down hierarchical export of any form (its stages through its ``hierarchy_runtime.py``)."""
    p = Path(path)
    if (p / "export.json").is_file():
        from tailtune.export._files import read_export_json

        meta = read_export_json(p)
        top_down = meta.get("top_down") is not None
        if meta.get("format") != "onnx" and not top_down:
            raise TailtuneError(
                f"{p}: a {meta.get('format')} export; serve its run, or an ONNX export"
            )
        if top_down:  # every stage through the decoder the export ships, as its users run it
            from tailtune.export.topdown import load_shipped

            model = load_shipped(p).load(p, threads=threads)
        else:
            from tailtune.export.runtime import OnnxClassifier

            model = OnnxClassifier(p, threads=threads)
        decision = None
        if meta.get("decision") is not None:  # an export of a hierarchical run
            from tailtune.objectives.path_decision import PathDecision

            decision = PathDecision.from_dict(meta["decision"], f"{p}/export.json")
        return Predictor(model, list(meta["classes"]), str(meta["format"]), str(p),
                         str(meta["backend"]), rule=getattr(model, "rule", None),
                         decision=decision)  # fmt: skip
    from tailtune.backends import load_backend
    from tailtune.runs import read_run

    run = read_run(p)
    if threads:
        _torch_threads(threads)
    backend = load_backend(run.path / "model")
    classes = [str(c) for c in backend.classes_]
    decision = getattr(backend, "path_decision_", None)
    rule = getattr(backend, "rule_", None) if backend.space_.kind == "multi" else None
    return Predictor(backend, classes, "run", str(run.path), str(backend.name), rule=rule,
                     decision=decision)  # fmt: skip


def _torch_threads(n: int) -> None:
    try:
        import torch
    except ImportError:  # a linear run serves without torch
        return
    torch.set_num_threads(int(n))

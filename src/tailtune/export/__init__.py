"""Leaving tailtune: a run's model as a transformers folder, ONNX, or a scikit-learn pipeline.

``export_run(run, "hf" | "onnx" | "sklearn", out_dir, quantize=None | "int8")`` writes the folder
and reports how closely it reproduces ``tailtune predict``; ``OnnxClassifier`` runs an ONNX
export with ONNX Runtime alone. docs/deploy.md walks through each path.
"""

from __future__ import annotations

from tailtune.export.api import FORMATS, export_run

__all__ = ["FORMATS", "OnnxClassifier", "export_run"]


def __getattr__(name: str):
    if name == "OnnxClassifier":  # onnxruntime is imported only by those who use it
        from tailtune.export.runtime import OnnxClassifier

        return OnnxClassifier
    raise AttributeError(name)

"""Running an ONNX export with ONNX Runtime: no torch, no transformers, no tailtune model code.

An export folder holds ``model.onnx`` (inputs ``input_ids`` and ``attention_mask``, int64
``(batch, sequence)``; outputs ``logits`` — already temperature-scaled and post-hoc adjusted — and
``probabilities``; a model of label sets also ``labels``, the 0/1 sets its saved thresholds
decide), ``tokenizer.json`` (the 🤗 tokenizers file) and ``export.json`` (labels, ``max_length``,
the pad id, a label-set rule). :class:`OnnxClassifier` is the whole inference path, and what
``tailtune serve`` runs for an ONNX folder.

This file needs only numpy, ONNX Runtime and tokenizers: a top-down hierarchical export ships a
copy of it (``tailtune_onnx.py``) that runs its stages where tailtune is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

try:  # inside tailtune: a missing runtime is one line naming the extra to install
    from tailtune._extras import require
except ImportError:  # the copy an export ships, run without tailtune
    from importlib import import_module

    def require(module: str, purpose: str = ""):
        return import_module(module)


__all__ = ["OnnxClassifier"]


class OnnxClassifier:
    """``predict_proba`` / ``predict`` over an ONNX export folder (CPU execution provider)."""

    def __init__(self, folder: str | Path, threads: int | None = None, batch_size: int = 32):
        ort = require("onnxruntime", "ONNX inference")
        tokenizers = require("tokenizers", "ONNX inference")
        self.folder = Path(folder)
        meta = _export_json(self.folder)
        if meta.get("format") != "onnx":
            raise ValueError(f"{self.folder}: export.json says format {meta.get('format')!r}")
        self.meta = meta
        self.classes_ = np.asarray(meta["classes"], dtype=object)
        self.max_length = int(meta["onnx"]["max_length"])
        self.pad_id = int(meta["onnx"]["pad_token_id"])
        self.batch_size = batch_size
        raw_rule = meta["onnx"].get("set_rule")
        self.rule = None
        if raw_rule is not None:  # label sets: sigmoids, and the graph decides the sets
            from tailtune.objectives.thresholds import SetRule

            self.rule = SetRule.from_dict(raw_rule)
        self.tokenizer = tokenizers.Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.folder / meta["onnx"]["file"]), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, truncated to the run's ``max_length`` (special tokens added)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def logits(self, texts, output: str = "logits") -> np.ndarray:
        """Adjusted logits (n, K) (or the graph's other ``output``): longest texts first,
        right-padded per batch, input order."""
        ids = self.encode(list(texts))
        out = np.zeros((len(ids), len(self.classes_)), dtype=np.float32)
        order = np.argsort([-len(x) for x in ids], kind="stable")
        for start in range(0, len(ids), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(1, max(len(ids[i]) for i in rows))
            batch = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                batch[j, : len(ids[i])] = ids[i]
                mask[j, : len(ids[i])] = 1
            feeds = {"input_ids": batch, "attention_mask": mask}
            out[rows] = self.session.run([output], feeds)[0]
        return out

    def predict_proba(self, texts) -> np.ndarray:
        """Class probabilities (n, K) in ``classes_`` order (float64, rows sum to 1); label sets:
        one sigmoid per label."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        z = self.logits(texts).astype(np.float64)
        if self.rule is not None:
            return 0.5 * (1.0 + np.tanh(0.5 * z))  # the sigmoid, without overflow
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def indicator(self, texts) -> np.ndarray:
        """Label sets: the graph's 0/1 decisions (texts × labels), the saved rule applied."""
        return self.logits(list(texts), "labels").astype(np.uint8)

    def predict(self, texts) -> np.ndarray:
        """Most probable label of each text; label sets: a tuple of labels per text."""
        texts = list(texts)
        if self.rule is None:
            return self.classes_[self.predict_proba(texts).argmax(axis=1)]
        out = np.empty(len(texts), dtype=object)
        rows = self.indicator(texts) if len(out) else []
        out[:] = [tuple(str(c) for c in self.classes_[np.flatnonzero(r)]) for r in rows]
        return out


def _export_json(folder: Path) -> dict:
    """The folder's ``export.json`` (labels, lengths, the pad id)."""
    path = folder / "export.json"
    if not path.is_file():
        raise ValueError(f"{folder}: no export.json (not a tailtune export folder)")
    return json.loads(path.read_text(encoding="utf-8"))

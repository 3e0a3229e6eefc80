"""Running a top-down hierarchical export without tailtune: numpy and the stages' own runtime.

A top-down export holds one folder per stage (``stage0/``, ``stage1/`` ...: each a classifier in
the export's form, a skops pipeline, a transformers folder or an ONNX model), ``hierarchy.json``
and a copy of this file, which is the whole prediction path:

1. each stage gives probabilities over its options (a node's children, and ``node | (end)``
   where training paths also stop at the node); a stage per level is read under each parent by
   keeping that parent's options and renormalising, so a child always sits under its parent;
2. a leaf path's probability is the product of the conditionals along it (the chain rule of
   top-down classifier trees; Silla & Freitas 2011, "A survey of hierarchical classification");
3. a node's probability is the sum of the leaves under it; the path is decoded top-down (the
   most probable child of the chosen node, going deeper unless the path that ends there is more
   probable) or as the most probable leaf;
4. back-off: the path is cut at the first level whose probability is below that level's
   threshold, "unknown" when the top level fails (selective classification per level; Geifman &
   El-Yaniv 2017).

It mirrors tailtune's own prediction (``tailtune.backends._topdown``,
``tailtune.data.hierarchy_proba``, ``tailtune.objectives.backoff``); every export runs this file
on the run's validation texts and records in ``export.json`` whether paths and answers agree::

    import sys; sys.path.insert(0, "EXPORT_FOLDER")
    import hierarchy_runtime
    model = hierarchy_runtime.load("EXPORT_FOLDER")
    model.predict(["my card was charged twice"])  # path, answer, depth, level_proba per text
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

__all__ = ["TopDownModel", "load"]

SPEC_FILE = "hierarchy.json"
UNKNOWN = "unknown"
SKIP = 1e-9  # a row that reaches a node with less mass is not sent to its stage (as tailtune)


def load(folder, threads: int | None = None) -> TopDownModel:
    """The exported model in ``folder`` (the one holding ``hierarchy.json``)."""
    return TopDownModel(folder, threads)


class TopDownModel:
    """``predict_proba`` over the leaf paths ``classes_``; ``predict`` decodes and backs off."""

    def __init__(self, folder, threads: int | None = None):
        self.folder = Path(folder)
        spec = json.loads((self.folder / SPEC_FILE).read_text(encoding="utf-8"))
        if spec.get("format") != "tailtune-top-down":
            raise ValueError(f"{self.folder}/{SPEC_FILE}: not a top-down hierarchical export")
        self.spec, self.per, self.decode = spec, spec["per"], spec["decode"]
        self.levels, self.separator = spec["levels"], spec["separator"]
        self.classes_ = list(spec["leaves"])
        backoff = spec.get("backoff")
        self.thresholds = None if backoff is None else backoff["thresholds"]
        self.children = {k: list(v) for k, v in spec["children"].items()}
        self.stages = {
            name: _load_stage(self.folder / name, spec["form"], meta, threads, self.folder)
            for name, meta in spec["stages"].items()
        }

    # -- leaf probabilities -------------------------------------------------------------------

    def predict_proba(self, texts) -> np.ndarray:
        """``(n, len(classes_))``: each leaf path's product of conditionals down to it."""
        texts = [str(t) for t in texts]
        n, col = len(texts), {leaf: j for j, leaf in enumerate(self.classes_)}
        out, mass, cache = np.zeros((n, len(col))), {"": np.ones(n)}, {}
        for node in self.spec["nodes"]:  # parents from the top level down
            above, opts = mass[node["parent"]], node["options"]
            cond = np.full((n, len(opts)), 1.0 / len(opts))
            rows = np.flatnonzero(above >= SKIP)
            if len(opts) == 1:
                cond[:] = 1.0
            elif rows.size:
                cond[rows] = self._conditional(node, texts, rows, cache)
            for k, option in enumerate(opts):
                if k == node["end"]:  # the path stops at the parent, itself a leaf
                    out[:, col[node["parent"]]] += above * cond[:, k]
                else:
                    mass[option] = above * cond[:, k]
        for leaf, j in col.items():
            if not self.children.get(leaf):
                out[:, j] = mass[leaf]
        return out

    def _conditional(self, node, texts, rows, cache) -> np.ndarray:
        name = node["stage"]
        stage = self.stages[name]
        if self.per == "level":  # one stage for every parent of the level: ask it once
            if name not in cache:
                cache[name] = stage.predict_proba(texts)
            proba = cache[name][rows]
        else:
            proba = stage.predict_proba([texts[i] for i in rows])
        return _restrict(proba, stage.classes_, node["options"])

    # -- decoding and back-off ----------------------------------------------------------------

    def predict(self, texts) -> dict:
        """``path`` (leaf labels), ``answer`` (backed off, or "unknown"), ``depth`` (levels
        answered) and ``level_proba`` (``{level: probability}`` per text)."""
        return self.describe(self.predict_proba(texts))

    def describe(self, proba) -> dict:
        """:meth:`predict` from leaf probabilities."""
        paths, path_proba = self.paths(proba)
        if self.thresholds is None:
            depths = [len(p) for p in paths]
        else:
            t = np.array([np.inf if x is None else x for x in self.thresholds], dtype=np.float64)
            clears = np.nan_to_num(path_proba, nan=-np.inf) >= t[None, :]
            depths = np.cumprod(clears, axis=1).sum(axis=1).astype(int).tolist()
        sep = self.separator
        return {
            "path": [sep.join(p) for p in paths],
            "answer": [
                sep.join(p[:k]) if k else UNKNOWN for p, k in zip(paths, depths, strict=True)
            ],
            "depth": depths,
            "level_proba": [
                {lvl: float(x) for lvl, x in zip(self.levels, row, strict=True) if not np.isnan(x)}
                for row in path_proba
            ],
        }

    def paths(self, proba) -> tuple[list[tuple], np.ndarray]:
        """Each row's decoded path (a tuple of names) and its node probability per level."""
        proba = np.asarray(proba, dtype=np.float64)
        leaves = [tuple(c.split(self.separator)) for c in self.classes_]
        depth = len(self.levels)
        marg, nodes = [], []
        for d in range(1, depth + 1):  # node probabilities: leaves summed into each node
            at = sorted({leaf[:d] for leaf in leaves if len(leaf) >= d})
            member = np.zeros((len(leaves), len(at)))
            index = {node: j for j, node in enumerate(at)}
            for i, leaf in enumerate(leaves):
                if len(leaf) >= d:
                    member[i, index[leaf[:d]]] = 1.0
            marg.append(proba @ member)
            nodes.append(index)
        leaf_col = {leaf: j for j, leaf in enumerate(leaves)}
        if self.decode == "leaf":
            paths = [leaves[j] for j in proba.argmax(axis=1)] if len(leaves) else []
        else:
            paths = [self._top_down(proba[i], marg, nodes, leaf_col, i) for i in range(len(proba))]
        path_proba = np.full((len(paths), depth), np.nan)
        for i, path in enumerate(paths):
            for d in range(1, len(path) + 1):
                path_proba[i, d - 1] = marg[d - 1][i, nodes[d - 1][path[:d]]]
        return paths, path_proba

    def _top_down(self, row, marg, nodes, leaf_col, i) -> tuple:
        path, stop, sep = (), 0.0, self.separator
        while True:
            kids = [tuple(k.split(sep)) for k in self.children.get(sep.join(path), [])]
            if not kids:
                return path
            d = len(path)
            p = [marg[d][i, nodes[d][k]] for k in kids]
            best = int(np.argmax(p))  # ties: the first child in sorted order, then deeper
            if not p[best] >= stop:
                return path
            path = kids[best]
            stop = row[leaf_col[path]] if path in leaf_col else 0.0


def _restrict(proba, classes, opts) -> np.ndarray:
    """A stage's probabilities over ``opts`` only, renormalised (uniform where all are 0)."""
    col = {str(c): j for j, c in enumerate(classes)}
    out = np.zeros((proba.shape[0], len(opts)))
    for k, o in enumerate(opts):
        if o in col:
            out[:, k] = proba[:, col[o]]
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), 1.0 / len(opts))


# -- the stages, each in the export's form ---------------------------------------------------


def _load_stage(folder: Path, form: str, meta: dict, threads, root: Path):
    if form == "sklearn":
        return _SkopsStage(folder, meta)
    if form == "hf":
        return _PipelineStage(folder, meta)
    if form == "onnx":
        spec = importlib.util.spec_from_file_location("tailtune_onnx", root / "tailtune_onnx.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.OnnxClassifier(folder, threads=threads)
    raise ValueError(f"{root}/{SPEC_FILE}: unknown form {form!r}")


class _SkopsStage:
    """A scikit-learn pipeline saved with skops; only the types the export recorded load."""

    def __init__(self, folder: Path, meta: dict):
        import skops.io as sio

        path = folder / meta["file"]
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - set(meta["untrusted_types"]))
        if unexpected:
            raise ValueError(f"{path}: types the export did not record: {unexpected}")
        self.pipe = sio.load(path, trusted=untrusted)
        self.classes_ = [str(c) for c in self.pipe.classes_]

    def predict_proba(self, texts) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes_)))
        return np.asarray(self.pipe.predict_proba(list(texts)), dtype=np.float64)


class _PipelineStage:
    """A transformers folder, read through ``pipeline("text-classification")``."""

    def __init__(self, folder: Path, meta: dict):
        from transformers import pipeline

        self.classes_ = list(meta["classes"])
        self.pipe = pipeline("text-classification", model=str(folder), tokenizer=str(folder),
                             top_k=None, device="cpu")  # fmt: skip

    def predict_proba(self, texts) -> np.ndarray:
        col = {c: j for j, c in enumerate(self.classes_)}
        out = np.zeros((len(texts), len(col)))
        if texts:
            for row, scores in enumerate(self.pipe(list(texts), truncation=True, batch_size=16)):
                for item in scores:
                    out[row, col[item["label"]]] = item["score"]
        return out

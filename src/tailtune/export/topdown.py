"""A top-down hierarchical model out of tailtune: each stage in the form asked, and the decoder.

A top-down model is several classifiers (one per level, or per parent) whose conditionals
multiply into leaf-path probabilities (:mod:`tailtune.backends._topdown`). No single graph holds
that, so the export is a folder of stage exports plus what joins them:

- ``stage0/``, ``stage1/`` ...: each stage written by the format's own writer (a skops pipeline,
  a transformers folder, an ONNX model), with its own ``export.json`` and agreement figures;
- ``hierarchy.json``: the tree, every parent's options and the stage that chooses among them,
  the decoding and the back-off rule (thresholds per level);
- ``hierarchy_runtime.py``: a copy of :mod:`tailtune.export.hierarchy_runtime`, the decoder,
  needing only numpy and the form's runtime (and for ONNX ``tailtune_onnx.py``, a copy of
  :mod:`tailtune.export.runtime`).

The agreement check runs the shipped copy on the run's validation texts and compares its leaf
probabilities, paths and backed-off answers with what ``tailtune predict`` gives.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np

from tailtune._atomic import write_text
from tailtune.errors import TailtuneError
from tailtune.export._agree import agreement
from tailtune.export._files import write_export_json
from tailtune.export._source import Source, reference_proba, stage_source

__all__ = ["SPEC_FILE", "RUNTIME_FILE", "export_top_down"]

SPEC_FILE = "hierarchy.json"
RUNTIME_FILE = "hierarchy_runtime.py"
ONNX_RUNTIME_FILE = "tailtune_onnx.py"
ATOL = {"sklearn": 1e-6, "hf": 1e-5, "onnx": 1e-4}  # a product of stages' differences
INT8_PATHS = 0.995  # int8 moves probabilities: the share of paths that must agree


def export_top_down(source: Source, fmt: str, folder: Path, quantize: str | None) -> dict:
    """Write every stage, ``hierarchy.json`` and the decoder into ``folder``; return the
    report's ``top_down`` part, with the agreement of the shipped decoder on validation."""
    backend = source.backend
    reason = backend.export_refusal(fmt)
    if reason is not None:
        raise TailtuneError(f"{fmt}: {reason}")
    plan = backend.export_plan()
    stages = {}
    for name, key, stage in plan["stages"]:
        sub = folder / name
        sub.mkdir()
        stages[name] = {"key": key, **_export_stage(stage_source(source, stage, fmt), fmt, sub,
                                                    quantize)}  # fmt: skip
    decision = backend.path_decision_.to_dict()  # the rule predict and serve apply
    spec = {
        "format": "tailtune-top-down",
        "form": fmt,
        **decision["hierarchy"],
        "decode": decision["decode"],
        "backoff": decision["backoff"],
        "per": plan["per"],
        "nodes": plan["nodes"],
        "stages": {name: _stage_meta(part) for name, part in stages.items()},
    }
    write_text(folder / SPEC_FILE, json.dumps(spec, indent=1) + "\n")
    here = Path(__file__).resolve().parent
    shutil.copyfile(here / "hierarchy_runtime.py", folder / RUNTIME_FILE)
    if fmt == "onnx":
        shutil.copyfile(here / "runtime.py", folder / ONNX_RUNTIME_FILE)
    return {
        "per": plan["per"],
        "stages": stages,
        "agreement": check_agreement(folder, source, fmt, quantize),
    }


def _export_stage(source: Source, fmt: str, sub: Path, quantize) -> dict:
    """One stage through the format's own writer; its ``export.json`` (classes and the form's
    part) is what the decoder and the ONNX runtime read."""
    meta = {"format": fmt, "backend": source.kind, "classes": source.classes}
    if fmt == "sklearn":
        from tailtune.export.sklearn import export_sklearn

        meta["sklearn"] = export_sklearn(source, sub)
    elif fmt == "hf":
        from tailtune.export.hf import export_hf

        meta["hf"] = export_hf(source, sub)
    else:
        from tailtune.export.onnx import check_agreement as onnx_agreement
        from tailtune.export.onnx import export_onnx

        meta["onnx"], reference = export_onnx(source, sub, quantize)
        write_export_json(sub, meta)  # the ONNX runtime reads labels and lengths from it
        meta["onnx"]["agreement"] = onnx_agreement(sub, reference, source.val_texts, quantize)
    write_export_json(sub, meta)
    return meta


def _stage_meta(part: dict) -> dict:
    """What the decoder needs of a stage: its classes and, for skops, the file and the types
    the export recorded (only those load)."""
    out = {"key": part["key"], "backend": part["backend"], "classes": part["classes"]}
    if "sklearn" in part:
        out |= {"file": part["sklearn"]["file"],
                "untrusted_types": part["sklearn"]["untrusted_types"]}  # fmt: skip
    return out


def check_agreement(folder: Path, source: Source, fmt: str, quantize=None) -> dict:
    """The shipped decoder against ``tailtune predict`` on the validation texts: leaf
    probabilities (top-1, largest difference), and the shares of equal paths and answers,
    which ``within_tolerance`` requires to be 1 (int8: paths at least 0.995)."""
    texts = source.val_texts
    reference = reference_proba(source)
    want = source.backend.path_decision_.describe(reference, list(source.classes))
    model = load_shipped(folder).load(folder)
    got_proba = model.predict_proba(texts)
    got = model.describe(got_proba)
    out = agreement(reference, got_proba, "tailtune predict", atol=ATOL[fmt])
    if not len(texts):
        return out
    out["path_agreement"] = round(float(np.mean(np.array(want["path"]) == got["path"])), 6)
    out["answer_agreement"] = round(float(np.mean(np.array(want["answer"]) == got["answer"])), 6)
    if quantize == "int8":
        out["tolerance"], out["target_paths"] = None, INT8_PATHS
        out["within_tolerance"] = bool(out["path_agreement"] >= INT8_PATHS)
    else:
        same = out["path_agreement"] == 1.0 and out["answer_agreement"] == 1.0
        out["within_tolerance"] = bool(out["within_tolerance"] and same)
    return out


def load_shipped(folder: Path):
    """The decoder module an export folder ships (run as a user would, not tailtune's copy)."""
    spec = importlib.util.spec_from_file_location("hierarchy_runtime", folder / RUNTIME_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""``export_run``: one run's model out of tailtune, checked against ``tailtune predict``.

Top to bottom: open the run, pick the format's writer, write into a hidden folder, measure how
closely the written model reproduces the run's own predictions on its validation texts, then
write ``export.json`` and move the folder into place (an export that fails leaves nothing).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tailtune.errors import TailtuneError
from tailtune.export._files import check_out_dir, staged_dir, write_export_json
from tailtune.export._source import check_long_text, open_run
from tailtune.export.card import write_card

__all__ = ["FORMATS", "QUANTIZE", "export_run"]

FORMATS = ("hf", "onnx", "sklearn")
QUANTIZE = (None, "int8")


def export_run(
    run_path: str | Path,
    fmt: str,
    out_dir: str | Path,
    quantize: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Export a finished run's model to ``out_dir`` as ``fmt`` (hf, onnx or sklearn).

    The folder also holds ``README.md``, a Hugging Face model card (:mod:`.card`). Returns the
    report also written to ``out_dir/export.json``: format, source run, backend,
    classes, the files written, what was folded in (post-hoc τ, temperature) and the agreement
    with ``tailtune predict`` on the run's validation texts (top-1 share, largest probability
    difference). Raises TailtuneError with one line when the run cannot take this format.
    A non-empty ``out_dir`` is replaced only with ``force`` (never the run itself).
    """
    if fmt not in FORMATS:
        raise TailtuneError(f"export: format {fmt!r} is not one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZE:
        raise TailtuneError(f"export: --quantize {quantize!r}: only int8 is offered")
    if quantize and fmt != "onnx":
        raise TailtuneError(f"export: --quantize applies to --format onnx, not {fmt}")
    check_out_dir(out_dir, run_path, force)
    started = time.perf_counter()
    source = open_run(run_path)
    check_long_text(source, fmt)
    report: dict[str, Any] = {
        "format": fmt,
        "run": str(source.run_path),
        "backend": source.kind,
        "classes": source.classes,
        "val_texts": len(source.val_texts),
    }
    if source.decision is not None:
        # a hierarchy: the model gives leaf-path probabilities; this rule (tree, decoding,
        # back-off) turns them into the path, each level's probability and the answer
        report["decision"] = source.decision
    with staged_dir(out_dir, force) as folder:
        if source.top_down:  # a folder per stage, hierarchy.json and the decoder
            from tailtune.export.topdown import export_top_down

            report["top_down"] = export_top_down(source, fmt, folder, quantize)
            report["agreement"] = report["top_down"].pop("agreement")
        elif fmt == "hf":
            from tailtune.export.hf import export_hf

            report["hf"] = export_hf(source, folder)
            report["agreement"] = report["hf"].pop("agreement")
        elif fmt == "sklearn":
            from tailtune.export.sklearn import export_sklearn

            report["sklearn"] = export_sklearn(source, folder)
            report["agreement"] = report["sklearn"].pop("agreement")
        else:
            from tailtune.export.onnx import check_agreement, export_onnx

            report["onnx"], reference = export_onnx(source, folder, quantize)
            write_export_json(folder, report)  # the runtime reads labels and lengths from it
            report["agreement"] = check_agreement(folder, reference, source.val_texts, quantize)
        write_card(folder, source.run_path, fmt, top_down=source.top_down)  # README.md
        report["files"] = sorted({p.name for p in folder.iterdir()} | {"export.json"})
        report["export_s"] = round(time.perf_counter() - started, 2)
        write_export_json(folder, report)
    report["out_dir"] = str(Path(out_dir))
    return report

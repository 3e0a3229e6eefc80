"""``--format hf``: a folder that ``transformers.pipeline("text-classification", model=DIR)`` loads.

The folder is ``save_pretrained`` of the model and tokenizer: ``id2label`` / ``label2id`` name
the run's classes, ``pad_token_id`` is set in the config and the tokenizer, the tokenizer's
``model_max_length`` is the run's ``max_length`` (call the pipeline with ``truncation=True``
for texts longer than that), and post-hoc logit adjustment is folded into the head's bias.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune.errors import TailtuneError
from tailtune.export._agree import agreement
from tailtune.export._source import Source, posthoc, reference_proba
from tailtune.export._transformers import fold_adjustment, plain_classifier

__all__ = ["export_hf", "pipeline_proba"]


def export_hf(source: Source, folder: Path) -> dict:
    """Write the transformers folder into ``folder``; return the report's format part."""
    reason = source.backend.export_refusal("hf")
    if reason is not None:
        raise TailtuneError(f"hf: {reason}")
    tau, temperature, prior = posthoc(source.backend)
    reference = reference_proba(source)  # before the model is merged or folded
    model, tok = plain_classifier(source)
    folded = fold_adjustment(model, len(source.classes), prior, tau, temperature, "hf")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    got = pipeline_proba(folder, source.val_texts, source.classes)
    return {
        "model_class": type(model).__name__,
        "posthoc_tau": tau,
        "folded_into_bias": folded,
        "pad_token_id": tok.pad_token_id,
        "agreement": agreement(reference, got, "transformers pipeline", atol=1e-5),
    }


def pipeline_proba(folder: Path, texts: list[str], classes: list[str]) -> np.ndarray:
    """Probabilities (n, K) in ``classes`` order from the transformers pipeline on ``folder``."""
    transformers = require("transformers")
    if not texts:
        return np.zeros((0, len(classes)))
    pipe = transformers.pipeline(
        "text-classification", model=str(folder), tokenizer=str(folder), top_k=None, device="cpu"
    )
    col = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(texts), len(classes)))
    for row, scores in enumerate(pipe(list(texts), truncation=True, batch_size=16)):
        for item in scores:
            out[row, col[item["label"]]] = item["score"]
    return out

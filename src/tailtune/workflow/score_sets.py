"""Score a split of label sets: the backend's per-label scores, its saved decision rule, the
multi-label metrics (:mod:`tailtune.evaluation.set_metrics`) and one prediction row per text.

The split's ``gold`` and ``pred`` columns hold sets as the frame does (sorted labels joined by
the set separator), so predictions.csv reads back with the data's own settings.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tailtune.config import Config

__all__ = ["score_set_split", "set_train_counts"]


def set_train_counts(labels, separator: str | None) -> dict[str, int]:
    """Training texts carrying each label (what tiers and per-label tables are read against)."""
    from tailtune.data.labelsets import label_counts, parse_sets

    return label_counts(parse_sets(labels, separator))


def score_set_split(backend, frame: pd.DataFrame, train_counts, cfg: Config, split: str) -> dict:
    """Predict one split of label sets; metrics, per-label table, prediction rows and scores."""
    from tailtune.data.labelsets import indicator, join_set, parse_sets
    from tailtune.evaluation import resolve_tiers
    from tailtune.evaluation.set_errors import confused_pairs, set_error_summary
    from tailtune.evaluation.set_metrics import per_label_table, set_metrics

    sep = cfg.data.multi_label_separator
    texts = frame["text"].tolist()
    classes = [str(c) for c in backend.classes_]
    scores = backend.predict_proba(texts)
    y, _ = indicator(parse_sets(frame["label"], sep), classes)
    pred = backend.rule_.apply(scores)
    tiers = resolve_tiers(train_counts, cfg.eval.head_min, cfg.eval.tail_max)
    metrics = set_metrics(y, pred, classes, tiers=tiers.tiers)
    metrics["tiers_rule"] = tiers.rule
    metrics["errors"] = set_error_summary(y, pred)
    metrics["confused"] = confused_pairs(y, pred, classes).to_dict("records")
    per_class = per_label_table(y, pred, classes, train_counts=train_counts, tiers=tiers.tiers)
    k = min(cfg.eval.top_k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    rows = pd.DataFrame({
        "split": split,
        "id": frame["id"].astype(str).to_numpy(),
        "text": texts,
        "gold": frame["label"].fillna("").astype(str).to_numpy(),
        "pred": [join_set([classes[j] for j in np.flatnonzero(r)], sep) for r in pred],
        "prob": np.round(scores.max(axis=1), 5) if scores.shape[1] else 0.0,
        "top_k": [json.dumps([[classes[j], round(float(row[j]), 5)] for j in idx])
                  for row, idx in zip(scores, top, strict=True)],
    })  # fmt: skip
    return {"metrics": metrics, "per_class": per_class, "predictions": rows, "proba": scores}

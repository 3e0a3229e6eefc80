"""Score: predict each split, compute its metrics, per-class table and prediction rows."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd

from tailtune.config import Config
from tailtune.workflow.prepare import Prepared, build_hierarchy

__all__ = ["hierarchy_scores", "score_split", "score_splits", "train_counts"]


def score_splits(backend, prepared: Prepared, cfg: Config) -> dict[str, dict]:
    """:func:`score_split` for validation and (when there is one) test, by split name."""
    counts = train_counts(prepared)
    splits = {"val": prepared.val} if len(prepared.val) else {}
    if prepared.test is not None:
        splits["test"] = prepared.test
    return {name: score_split(backend, frame, counts, cfg, name) for name, frame in splits.items()}


def score_split(backend, frame: pd.DataFrame, train_counts, cfg: Config, split: str) -> dict:
    """Predict one split and compute its metrics, per-class table and prediction rows."""
    from tailtune.evaluation import compute_metrics, per_class_table, resolve_tiers

    if cfg.data.multi_label == "sets":
        from tailtune.workflow.score_sets import score_set_split

        return score_set_split(backend, frame, train_counts, cfg, split)

    texts, gold = frame["text"].tolist(), frame["label"].astype(str).to_numpy()
    proba = backend.predict_proba(texts)
    classes = np.asarray(backend.classes_, dtype=object)
    pred = classes[proba.argmax(axis=1)].astype(str)
    tiers = resolve_tiers(train_counts, cfg.eval.head_min, cfg.eval.tail_max)
    kw = {"train_counts": train_counts, "tiers": tiers.tiers}
    metrics = compute_metrics(gold, pred, **kw)
    metrics["tiers_rule"] = tiers.rule
    if cfg.data.hierarchy:
        metrics["hierarchy"] = hierarchy_scores(gold, pred, train_counts, cfg)
    per_class = per_class_table(gold, pred, **kw)
    k = min(cfg.eval.top_k, proba.shape[1])
    top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    top_k = [
        json.dumps([[str(classes[j]), round(float(row[j]), 5)] for j in idx])
        for row, idx in zip(proba, top, strict=True)
    ]
    rows = pd.DataFrame(
        {
            "split": split,
            "id": frame["id"].astype(str).to_numpy(),
            "text": texts,
            "gold": gold,
            "pred": pred,
            "prob": np.round(proba.max(axis=1), 5),
            "top_k": top_k,
        }
    )
    return {"metrics": metrics, "per_class": per_class, "predictions": rows, "proba": proba}


def hierarchy_scores(gold, pred, train_counts, cfg: Config) -> dict:
    """Per-level, hierarchical (Kiritchenko et al. 2006) and path-error metrics of predicted leaf
    paths (:func:`tailtune.evaluation.hierarchy.hierarchy_metrics`), tiers per level by training
    count at that level."""
    from tailtune.evaluation.hierarchy import hierarchy_metrics

    tree = build_hierarchy(cfg.data, list(train_counts))
    train = [tree.parse(c) for c, n in train_counts.items() for _ in range(n)]
    return hierarchy_metrics(
        [tree.parse(g) for g in gold], [tree.parse(p) for p in pred], tree.levels,
        train=train, head_min=cfg.eval.head_min, tail_max=cfg.eval.tail_max,
        separator=tree.separator,
    )  # fmt: skip


def train_counts(prepared: Prepared) -> dict[str, int]:
    """Training examples per class (the counts tiers and per-class tables are read against);
    with label sets, training texts per label."""
    if prepared.set_separator is not None:
        from tailtune.workflow.score_sets import set_train_counts

        return set_train_counts(prepared.train["label"], prepared.set_separator)
    return dict(Counter(prepared.train["label"]))

"""Score: predict each split, compute its metrics, per-class table and prediction rows."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd

from tailtune.config import Config
from tailtune.workflow.prepare import Prepared, build_hierarchy

__all__ = [
    "backoff_answers",
    "decide",
    "hierarchy_scores",
    "path_columns",
    "pred_proba",
    "score_split",
    "score_splits",
    "train_counts",
]


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
    pred = decide(backend, proba)
    tiers = resolve_tiers(train_counts, cfg.eval.head_min, cfg.eval.tail_max)
    kw = {"train_counts": train_counts, "tiers": tiers.tiers}
    metrics = compute_metrics(gold, pred, **kw)
    metrics["tiers_rule"] = tiers.rule
    answers = backoff_answers(backend, proba)
    if cfg.data.hierarchy:
        metrics["hierarchy"] = hierarchy_scores(gold, pred, train_counts, cfg, answers)
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
            "prob": np.round(pred_proba(classes, proba, pred), 5),
            "top_k": top_k,
        }
    )
    if answers is not None:  # the back-off answer: the deepest confident level, or "unknown"
        rows["answer"] = answers
    return {"metrics": metrics, "per_class": per_class, "predictions": rows, "proba": proba}


def decide(backend, proba: np.ndarray) -> np.ndarray:
    """The predicted labels under the model's own decision rule (a hierarchical model decodes
    a consistent path), else the argmax of ``proba``."""
    decision = getattr(backend, "path_decision_", None)
    classes = np.asarray(backend.classes_, dtype=object)
    if decision is not None:
        return np.asarray(decision.labels(proba, list(classes))).astype(str)
    return classes[proba.argmax(axis=1)].astype(str)


def pred_proba(classes, proba: np.ndarray, pred) -> np.ndarray:
    """The probability of each row's predicted class (the row maximum under argmax; a decoded
    path need not be the most probable leaf)."""
    col = {str(c): j for j, c in enumerate(classes)}
    return proba[np.arange(len(pred)), [col[str(p)] for p in pred]] if len(pred) else proba[:, 0]


def path_columns(backend, proba: np.ndarray) -> dict[str, list] | None:
    """For a model with a path decision rule: ``answer`` (back-off) and ``level_proba`` (JSON
    ``{level: probability of the predicted node}``) per row; None for any other model."""
    decision = getattr(backend, "path_decision_", None)
    if decision is None:
        return None
    out = decision.describe(proba, [str(c) for c in backend.classes_])
    return {
        "answer": out["answer"],
        "level_proba": [
            json.dumps({k: round(v, 5) for k, v in row.items()}) for row in out["level_proba"]
        ],
    }


def backoff_answers(backend, proba: np.ndarray) -> list[str] | None:
    """The back-off answers (deepest confident level or "unknown") of a model whose decision
    rule backs off, else None."""
    decision = getattr(backend, "path_decision_", None)
    if decision is None or decision.rule is None:
        return None
    return decision.describe(proba, [str(c) for c in backend.classes_])["answer"]


def hierarchy_scores(gold, pred, train_counts, cfg: Config, answers=None) -> dict:
    """Per-level, hierarchical (Kiritchenko et al. 2006) and path-error metrics of predicted leaf
    paths (:func:`tailtune.evaluation.hierarchy.hierarchy_metrics`), tiers per level by training
    count at that level; with back-off ``answers``, their coverage and precision per level
    (:func:`tailtune.evaluation.hierarchy.backoff_table`) under ``"backoff"``."""
    from tailtune.evaluation.hierarchy import backoff_table, hierarchy_metrics

    tree = build_hierarchy(cfg.data, list(train_counts))
    train = [tree.parse(c) for c, n in train_counts.items() for _ in range(n)]
    gold_paths = [tree.parse(g) for g in gold]
    out = hierarchy_metrics(
        gold_paths, [tree.parse(p) for p in pred], tree.levels,
        train=train, head_min=cfg.eval.head_min, tail_max=cfg.eval.tail_max,
        separator=tree.separator,
    )  # fmt: skip
    if answers is not None:
        from tailtune.objectives.path_decision import UNKNOWN

        answered = [() if a == UNKNOWN else tree.parse(a) for a in answers]
        out["backoff"] = backoff_table(gold_paths, answered, tree.levels)
    return out


def train_counts(prepared: Prepared) -> dict[str, int]:
    """Training examples per class (the counts tiers and per-class tables are read against);
    with label sets, training texts per label."""
    if prepared.set_separator is not None:
        from tailtune.workflow.score_sets import set_train_counts

        return set_train_counts(prepared.train["label"], prepared.set_separator)
    return dict(Counter(prepared.train["label"]))

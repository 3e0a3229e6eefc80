"""Fabricated run directories that follow docs/architecture.md exactly (no training needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import precision_recall_fscore_support


def tier_of(n: int, head_min: int, tail_max: int) -> str:
    return "head" if n >= head_min else ("tail" if n < tail_max else "mid")


def write_run(
    root: Path,
    name: str,
    *,
    gold,
    pred,
    train_counts: dict[str, int],
    probs: np.ndarray | None = None,
    texts=None,
    ids=None,
    history: list[dict] | None = None,
    head_min: int = 2000,
    tail_max: int = 100,
    config: dict | None = None,
    train_size: int | None = None,
    test: dict | None = None,
    refit: dict | None = None,
    val: bool = True,
) -> Path:
    """Write a finished run directory with val predictions ``pred`` for gold labels ``gold``.

    ``test``: ``{"gold", "pred", "probs" (optional), "texts" (optional)}`` adds a test split
    (``per_class_test.csv``, ``metrics["test"]``); ``refit`` is written as metrics.json's
    ``refit`` record; ``val=False`` leaves the validation split out (only test is written).
    """
    path = root / name
    path.mkdir(parents=True)
    classes = sorted(train_counts)
    tiers = {c: tier_of(train_counts[c], head_min, tail_max) for c in classes}
    splits = {"val": {"gold": gold, "pred": pred, "probs": probs, "texts": texts, "ids": ids}}
    if not val:
        splits = {}
    if test is not None:
        splits["test"] = test
    metrics = {
        "backend": "fake", "model": None,
        "train_size": train_size or int(sum(train_counts.values())),
        "timing": {"fit_s": 1.0, "predict_s": 0.1, "total_s": 1.1}, "info": {},
        "macro_over": "classes present in gold",
    }  # fmt: skip
    frames, arrays = [], {}
    for split, spec in splits.items():
        m, rows, pr = _write_split(path, split, spec, classes, tiers, train_counts)
        metrics[split] = m
        frames.append(rows)
        arrays[split] = pr
    if refit is not None:
        metrics["refit"] = refit
    (path / "metrics.json").write_text(json.dumps(metrics))
    (path / "config.yaml").write_text(yaml.safe_dump(config or {"model": {"backend": "fake"}}))
    labels = {
        "classes": classes, "train_counts": train_counts, "tiers": tiers,
        "head_min": head_min, "tail_max": tail_max,
        "tiers_rule": f"fixed (head >= {head_min:,}, tail < {tail_max:,})",
    }  # fmt: skip
    (path / "labels.json").write_text(json.dumps(labels))
    pd.concat(frames, ignore_index=True).to_csv(path / "predictions.csv", index=False)
    np.savez_compressed(path / "probabilities.npz", classes=np.array(classes), **arrays)
    if history:
        (path / "history.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
    (path / "data.json").write_text(json.dumps({"class_stats": {"n_classes": len(classes)}}))
    return path


def _write_split(path: Path, split: str, spec: dict, classes, tiers, train_counts):
    """One split's per-class file, metrics, prediction rows and probabilities."""
    gold = np.asarray(spec["gold"], dtype=str)
    pred = np.asarray(spec["pred"], dtype=str)
    k, n = len(classes), len(gold)
    probs = spec.get("probs")
    if probs is None:
        # The predicted class gets 0.6, the rest share 0.4: a valid distribution per row.
        probs = np.full((n, k), 0.4 / (k - 1), dtype=np.float32)
        probs[np.arange(n), np.searchsorted(classes, pred)] = 0.6
    ids = spec.get("ids")
    ids = list(ids) if ids is not None else [f"{split}:{i}" for i in range(n)]
    texts = spec.get("texts")
    texts = list(texts) if texts is not None else [f"text of example {i}" for i in range(n)]
    present = sorted(set(gold))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=present, zero_division=0)
    per_class = pd.DataFrame(
        {"label": present, "tier": [tiers[c] for c in present],
         "train_count": [train_counts[c] for c in present], "support": s,
         "precision": p, "recall": r, "f1": f}
    )  # fmt: skip
    per_class.to_csv(path / ("per_class.csv" if split == "val" else f"per_class_{split}.csv"),
                     index=False)  # fmt: skip
    tier_stats = {
        t: {"n_classes": int((g.tier == t).sum()), "mean_f1": float(g.f1.mean()),
            "zero_f1": int((g.f1 == 0).sum())}
        for t, g in per_class.groupby("tier")
    }  # fmt: skip
    metrics = {
        "accuracy": float((gold == pred).mean()),
        "macro_f1": float(f.mean()),
        "zero_f1": int((f == 0).sum()),
        "n_examples": n,
        "n_classes": len(present),
        "tiers": tier_stats,
    }
    top = np.argsort(-probs, axis=1)[:, :3]
    rows = pd.DataFrame(
        {"split": split, "id": ids, "text": texts, "gold": gold, "pred": pred,
         "prob": probs[np.arange(n), np.searchsorted(classes, pred)],
         "top_k": [json.dumps([[classes[j], float(probs[i, j])] for j in top[i]]) for i in range(n)]}
    )  # fmt: skip
    return metrics, rows, probs


@pytest.fixture
def make_run(tmp_path):
    """Factory: ``make_run(name, gold=..., pred=..., train_counts=..., ...)`` -> run dir Path."""
    return lambda name, **kw: write_run(tmp_path / "runs", name, **kw)


def long_tail_case(seed: int = 0, n_classes: int = 30, weighted: bool = False):
    """A synthetic long-tailed validation set with a head-biased (or re-weighted) predictor.

    Returns (gold, pred, probs, train_counts, classes). Class c has ~ 3000 / (c+1)^1.3 train
    examples; validation support is a tenth of that (at least 1). The vanilla predictor is right
    with a probability that grows with class size and otherwise predicts a head class; the
    re-weighted one is right more often on the tail and less often on the head.
    """
    rng = np.random.default_rng(seed)
    classes = [f"c{i:02d}" for i in range(n_classes)]
    train = {c: max(2, int(3000 / (i + 1) ** 1.3)) for i, c in enumerate(classes)}
    support = {c: max(1, train[c] // 10) for c in classes}
    gold = np.array([c for c in classes for _ in range(support[c])])
    pred = gold.copy()
    for j, g in enumerate(gold):
        share = train[g] / 3000
        p_right = 0.2 + 0.7 * share**0.3
        if weighted:
            p_right = 0.55 + 0.2 * share**0.3
        if rng.random() > p_right:
            # Vanilla errors fall on the 3 head classes; re-weighted ones on mid classes.
            pool = classes[:3] if not weighted else classes[3:12]
            pred[j] = rng.choice([h for h in pool if h != g])
    k = n_classes
    probs = rng.dirichlet(np.ones(k), size=len(gold)).astype(np.float32) * 0.3
    cols = np.searchsorted(classes, pred)
    probs[np.arange(len(gold)), cols] += 0.7
    probs /= probs.sum(axis=1, keepdims=True)
    return gold, pred, probs, train, classes


@pytest.fixture
def long_tail():
    """The ``long_tail_case`` factory as a fixture (tests are not a package)."""
    return long_tail_case

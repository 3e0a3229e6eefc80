"""The train → evaluate → write workflow, top to bottom.

``train(cfg)`` prepares the data, fits the configured backend, evaluates every split, and writes
a run directory (docs/architecture.md) atomically. ``evaluate`` and ``predict`` reload a run's
model. Everything downstream (reports, experiments, the index) reads only run directories.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tailtune.config import Config, config_from_dict, dump_config
from tailtune.errors import DataError
from tailtune.prepare import load_frame, prepare_data
from tailtune.runs import RunWriter, environment, read_run
from tailtune.runs.writer import latest_interrupted

__all__ = ["train", "evaluate", "predict", "score_split"]


def training_inputs(cfg: Config, train_df: pd.DataFrame) -> tuple[list, list, dict]:
    """The texts and labels a backend fits on: the training split, plus label-name examples
    when ``objective.label_name_examples`` asks for them (and a report of what was added)."""
    texts, labels = train_df["text"].tolist(), train_df["label"].tolist()
    copies = cfg.objective.label_name_examples
    if not copies:
        return texts, labels, {}
    from tailtune.objectives.label_names import label_name_examples, read_descriptions

    descriptions = {}
    if cfg.objective.label_descriptions:
        descriptions = read_descriptions(cfg.objective.label_descriptions)
    classes = sorted({str(c) for c in labels})
    extra_texts, extra_labels = label_name_examples(classes, copies, descriptions)
    report = {
        "copies": copies,
        "added": len(extra_texts),
        "described": sum(c in descriptions for c in classes),
        "unused_descriptions": sorted(set(descriptions) - set(classes)),
    }
    return texts + extra_texts, labels + extra_labels, report


def train(
    cfg: Config,
    *,
    quiet: bool = True,
    run_name: str | None = None,
    runs_dir: str | Path | None = None,
    log=None,
) -> Path:
    """Train ``cfg`` and return the path of its finished run directory."""
    from tailtune.backends import build_backend
    from tailtune.data import class_stats, split_stats
    from tailtune.evaluation import assign_tiers

    say = _logger(quiet, log)
    started = time.perf_counter()
    prepared = prepare_data(cfg)
    train_df, val_df, test_df = prepared.train, prepared.val, prepared.test
    train_counts = dict(Counter(train_df["label"]))
    tiers = assign_tiers(train_counts, head_min=cfg.eval.head_min, tail_max=cfg.eval.tail_max)
    say(
        f"data: {len(train_df):,} train / {len(val_df):,} val"
        + (f" / {len(test_df):,} test" if test_df is not None else "")
        + f", {len(train_counts)} classes"
    )

    fit_texts, fit_labels, added = training_inputs(cfg, train_df)
    if added:
        prepared.reports["label_name_examples"] = added
        say(f"added {added['added']:,} label-name training texts")

    resume_from = None
    if cfg.train.resume:
        resume_from = latest_interrupted(runs_dir or cfg.runs_dir, run_name or cfg.name)
        if resume_from is None:
            raise DataError(
                f"train.resume: no interrupted run named '{run_name or cfg.name}' "
                f"under {runs_dir or cfg.runs_dir}"
            )
        say(f"resuming from {resume_from}")
    with RunWriter(runs_dir or cfg.runs_dir, run_name or cfg.name, resume_from=resume_from) as run:
        run.write_text("config.yaml", dump_config(cfg))
        backend = build_backend(cfg)
        say(f"fitting {cfg.model.backend}" + (f" ({cfg.model.name})" if cfg.model.name else ""))
        t_fit = time.perf_counter()
        backend.fit(
            fit_texts,
            fit_labels,
            eval_set=(val_df["text"].tolist(), val_df["label"].tolist()),
            work_dir=run.tmp,
        )
        fit_s = time.perf_counter() - t_fit

        t_pred = time.perf_counter()
        splits = {"val": val_df} if test_df is None else {"val": val_df, "test": test_df}
        metrics: dict[str, Any] = {}
        predictions, probabilities = [], {}
        for split, frame in splits.items():
            scored = score_split(backend, frame, train_counts, cfg, split)
            metrics[split] = scored["metrics"]
            per_class_name = "per_class.csv" if split == "val" else f"per_class_{split}.csv"
            run.write_csv(per_class_name, scored["per_class"])
            predictions.append(scored["predictions"])
            probabilities[split] = scored["proba"].astype(np.float32)
        predict_s = time.perf_counter() - t_pred

        run.write_csv("predictions.csv", pd.concat(predictions, ignore_index=True))
        run.write_arrays(
            "probabilities.npz", classes=np.asarray(backend.classes_, dtype=str), **probabilities
        )
        backend.save(run.path("model"))
        run.write_json(
            "labels.json",
            {
                "classes": [str(c) for c in backend.classes_],
                "train_counts": train_counts,
                "tiers": tiers,
                "head_min": cfg.eval.head_min,
                "tail_max": cfg.eval.tail_max,
            },
        )
        run.write_json(
            "data.json",
            {
                **prepared.reports,
                "train_stats": class_stats(
                    train_df["label"], head_min=cfg.eval.head_min, tail_max=cfg.eval.tail_max
                ),
                "val_stats": split_stats(train_df["label"], val_df["label"]),
            },
        )
        info = dict(getattr(backend, "info_", {}) or {})
        run.write_json(
            "env.json", environment(seed=cfg.seed, device=str(info.get("device", "cpu")))
        )
        metrics.update(
            {
                "name": cfg.name,
                "backend": cfg.model.backend,
                "model": cfg.model.name,
                "train_size": len(train_df),
                "n_classes": len(train_counts),
                "macro_over": "classes present in the evaluation split's gold labels",
                "timing": {
                    "fit_s": round(fit_s, 3),
                    "predict_s": round(predict_s, 3),
                    "total_s": round(time.perf_counter() - started, 3),
                },
                "info": info,
            }
        )
        run.write_json("metrics.json", metrics)
        run.write_text("log.txt", "\n".join(say.lines) + "\n")
    say(f"run written to {run.final_path}")
    _index(Path(cfg.runs_dir), run.final_path)
    return run.final_path


def score_split(backend, frame: pd.DataFrame, train_counts, cfg: Config, split: str) -> dict:
    """Predict one split and compute its metrics, per-class table and prediction rows."""
    from tailtune.evaluation import compute_metrics, per_class_table

    texts, gold = frame["text"].tolist(), frame["label"].astype(str).to_numpy()
    proba = backend.predict_proba(texts)
    classes = np.asarray(backend.classes_, dtype=object)
    pred = classes[proba.argmax(axis=1)].astype(str)
    kw = {
        "train_counts": train_counts,
        "head_min": cfg.eval.head_min,
        "tail_max": cfg.eval.tail_max,
    }
    metrics = compute_metrics(gold, pred, **kw)
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


def evaluate(run_path: str | Path, data_path: str | Path | None = None) -> dict[str, Any]:
    """Re-score a run's saved model on a labelled file read with the run's data options."""
    from tailtune.backends import load_backend

    run = read_run(run_path)
    cfg = config_from_dict(run.config)
    backend = load_backend(run.path / "model")
    if data_path is None:
        raise DataError("evaluate: give a labelled file with --data")
    frame, _ = load_frame(cfg.data, str(data_path))
    train_counts = {k: int(v) for k, v in run.labels.get("train_counts", {}).items()}
    return score_split(backend, frame, train_counts, cfg, "eval")


def predict(run_path: str | Path, texts: list[str], top_k: int = 3) -> pd.DataFrame:
    """Predict labels (with top-k probabilities) for raw texts with a run's saved model."""
    from tailtune.backends import load_backend

    run = read_run(run_path)
    backend = load_backend(run.path / "model")
    proba = backend.predict_proba(texts)
    classes = np.asarray(backend.classes_, dtype=object)
    top = np.argsort(-proba, axis=1, kind="stable")[:, :top_k]
    return pd.DataFrame(
        {
            "text": texts,
            "pred": classes[top[:, 0]].astype(str),
            "prob": proba[np.arange(len(texts)), top[:, 0]].round(5),
            "top_k": [
                json.dumps([[str(classes[j]), round(float(p[j]), 5)] for j in idx])
                for p, idx in zip(proba, top, strict=True)
            ],
        }
    )


def _index(root: Path, path: Path) -> None:
    """Record the run in the one SQLite index at the root of ``cfg.runs_dir``."""
    try:
        from tailtune.runs.index import index_run
    except ImportError:
        return
    try:
        index_run(root / "index.db", path)
    except Exception as exc:  # the index is rebuildable; never fail a finished run over it
        import warnings

        warnings.warn(f"could not update the run index: {exc}", stacklevel=2)


def _logger(quiet: bool, log):
    lines: list[str] = []

    def say(msg: str) -> None:
        lines.append(msg)
        if log is not None:
            log(msg)
        elif not quiet:
            print(msg)

    say.lines = lines  # type: ignore[attr-defined]
    return say

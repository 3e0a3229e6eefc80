"""The train → evaluate → write workflow, top to bottom.

``train(cfg)`` prepares the data, fits the configured backend, evaluates every split, and writes
a run directory (docs/architecture.md) atomically. ``evaluate`` and ``predict`` reload a run's
model. Everything downstream (reports, experiments, the index) reads only run directories.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tailtune.config import Config, config_from_dict, dump_config
from tailtune.errors import DataError
from tailtune.prepare import Prepared, prepare_data
from tailtune.refit import check_no_validation, refit_phase
from tailtune.runs import RunWriter, environment, layout, read_run
from tailtune.runs.writer import in_progress, latest_interrupted, unfinished_runs

__all__ = ["train", "resume", "evaluate", "predict", "score_split", "score_splits", "write_run"]


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
    dir_name: str | None = None,
    resume_from: str | Path | None = None,
) -> Path:
    """Train ``cfg`` and return the path of its finished run directory: fit, score, write.

    ``run_name`` (the CLI's ``--name``) replaces ``cfg.name`` everywhere: folder, config.yaml,
    metrics.json, index. ``dir_name`` names only the folder (experiments name folders by cell
    and seed while their runs keep the experiment's name). ``runs_dir`` (default
    ``cfg.runs_dir``) holds the run and its index. With ``train.resume=true`` the newest
    unfinished run of that name continues from its newest complete checkpoint (or the folder
    ``resume_from``, see :func:`resume`).
    """
    if run_name:
        cfg = dataclasses.replace(cfg, name=run_name)
    # torchrun / accelerate launch: rank 0 owns the run folder; the others write nothing
    dist = _launch(cfg)
    worker = dist is not None and not dist.is_main
    say = _logger(quiet or worker, None if worker else log)
    started = time.perf_counter()
    root = Path(runs_dir if runs_dir is not None else cfg.runs_dir)
    stem = dir_name or cfg.name
    prepared = prepare_data(cfg)
    _describe_data(prepared, say)
    fit_texts, fit_labels, added = training_inputs(cfg, prepared.train)
    if added:
        prepared.reports["label_name_examples"] = added
        say(f"added {added['added']:,} label-name training texts")
    if resume_from is not None or cfg.train.resume:
        if not worker:
            resume_from = _resume_folder(root, stem, resume_from, say)
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, resume=True))
    if worker:
        return _train_beside_main(cfg, prepared, fit_texts, fit_labels, dist)

    with RunWriter(root, stem, resume_from=resume_from) as run:
        if dist is not None:
            dist.share(str(run.tmp))  # the other processes train in this folder
        # the run's record says how to train it again from scratch, not that it was resumed
        record = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, resume=False))
        run.write_text(layout.CONFIG, dump_config(record))
        backend, fit_s = fit_backend(cfg, prepared, fit_texts, fit_labels, run.tmp, say)
        t_pred = time.perf_counter()
        scored = score_splits(backend, prepared, cfg)
        timing = {"fit_s": round(fit_s, 3), "predict_s": round(time.perf_counter() - t_pred, 3)}
        # refit (tailtune.refit): validation metrics stay the selection model's, test is scored
        # with the model retrained on train + validation, which is the one saved
        backend, refit = refit_phase(cfg, prepared, backend, fit_texts, fit_labels, run.tmp, say)
        if refit["enabled"] and "test" in scored:
            refit["selection_test"] = scored["test"]["metrics"]
            scored["test"] = score_split(
                backend, prepared.test, _train_counts(prepared), cfg, "test"
            )
        write_run(run, cfg, backend, prepared, scored, timing, started, refit=refit)
        run.write_text(layout.LOG, "\n".join(say.lines) + "\n")
    say(f"run written to {run.final_path}")
    _index(root, run.final_path)
    if dist is not None:
        dist.share(str(run.final_path))
        dist.close()
    return run.final_path


def _launch(cfg: Config):
    """The multi-process launch this process belongs to (None when it runs alone)."""
    from tailtune.training.distributed import launch, world_size

    return launch(cfg.train.device) if world_size() > 1 else None


def _train_beside_main(cfg: Config, prepared: Prepared, texts, labels, dist) -> Path:
    """A non-main process of a multi-process launch: train its share of every step in the run
    folder rank 0 created (checkpoints and best weights are read from there) and write
    nothing; the finished run directory rank 0 wrote is returned."""
    from tailtune.refit import refit_backend, refit_decision

    work = Path(dist.share())
    quiet = _logger(True, None)
    backend, _ = fit_backend(cfg, prepared, texts, labels, work, quiet)
    if refit_decision(cfg, prepared)[0]:  # the refit is a second fit: every process takes part
        val = prepared.val
        refit_backend(backend, list(texts) + val["text"].tolist(),
                      list(labels) + val["label"].tolist(), len(texts), work / "refit")  # fmt: skip
    final = Path(dist.share())
    dist.close()
    return final


def resume(
    run: str | Path, *, runs_dir: str | Path | None = None, quiet: bool = True, log=None
) -> Path:
    """Continue an unfinished run to the end; return its finished run directory.

    ``run`` is an unfinished run's folder (``runs/.tmp-…`` left by kill -9 or a crash,
    ``runs/.interrupted-…`` left by Ctrl-C or SIGTERM) or a run name, whose newest unfinished
    folder under ``runs_dir`` (default ``runs``) is taken. The config is the one the run
    recorded when it started; training continues from the newest complete checkpoint.
    """
    path = Path(run)
    parsed = layout.parse_unfinished(path) if path.is_dir() else None
    if parsed is None:
        root = Path(runs_dir if runs_dir is not None else "runs")
        folder = latest_interrupted(root, str(run))
        if folder is None:
            raise DataError(_nothing_to_resume(root, str(run)))
        parsed = layout.parse_unfinished(folder)
    config_file = parsed.path / layout.CONFIG
    if not config_file.is_file():
        raise DataError(f"{parsed.path}: no {layout.CONFIG}; this folder cannot be resumed")
    cfg = config_from_dict(yaml.safe_load(config_file.read_text(encoding="utf-8")) or {})
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, resume=True))
    return train(cfg, quiet=quiet, log=log, runs_dir=parsed.path.parent, dir_name=parsed.name,
                 resume_from=parsed.path)  # fmt: skip


def fit_backend(cfg: Config, prepared: Prepared, texts, labels, work_dir: Path, say):
    """Build the configured backend and fit it (checkpoints go to ``work_dir``); seconds taken."""
    from tailtune.backends import build_backend

    backend = build_backend(cfg)
    say(f"fitting {cfg.model.backend}" + (f" ({cfg.model.name})" if cfg.model.name else ""))
    started = time.perf_counter()
    val = prepared.val
    eval_set = (val["text"].tolist(), val["label"].tolist()) if len(val) else None
    if eval_set is None:  # split.val: 0 — only backends that choose nothing on validation
        check_no_validation(backend)
    backend.fit(texts, labels, eval_set=eval_set, work_dir=work_dir)
    return backend, time.perf_counter() - started


def score_splits(backend, prepared: Prepared, cfg: Config) -> dict[str, dict]:
    """:func:`score_split` for validation and (when there is one) test, by split name."""
    counts = _train_counts(prepared)
    splits = {"val": prepared.val} if len(prepared.val) else {}
    if prepared.test is not None:
        splits["test"] = prepared.test
    return {name: score_split(backend, frame, counts, cfg, name) for name, frame in splits.items()}


def write_run(
    run: RunWriter, cfg: Config, backend, prepared: Prepared, scored, timing, started, refit=None
):
    """Write every artifact of a fitted, scored run (file names in :mod:`tailtune.runs.layout`)."""
    from tailtune.data import class_stats, split_stats
    from tailtune.evaluation import resolve_tiers

    ev, train_df = cfg.eval, prepared.train
    counts = _train_counts(prepared)
    for split, result in scored.items():
        run.write_csv(layout.per_class_file(split), result["per_class"])
    frames = [result["predictions"] for result in scored.values()]
    run.write_csv(layout.PREDICTIONS, pd.concat(frames, ignore_index=True))
    probabilities = {split: r["proba"].astype(np.float32) for split, r in scored.items()}
    classes = np.asarray(backend.classes_, dtype=str)
    run.write_arrays(layout.PROBABILITIES, classes=classes, **probabilities)
    backend.save(run.path(layout.MODEL))
    # tiers: explicit thresholds, else the fixed defaults, else data-driven (evaluation/tiers.py)
    tiers = resolve_tiers(counts, ev.head_min, ev.tail_max)
    run.write_json(
        layout.LABELS, {"classes": classes.tolist(), "train_counts": counts, **tiers.record()}
    )
    stats = {**class_stats(train_df["label"]), **tiers.class_stats(counts)}
    val_stats = split_stats(train_df["label"], prepared.val["label"])
    run.write_json(layout.DATA, {**prepared.reports, "train_stats": stats, "val_stats": val_stats})
    info = dict(getattr(backend, "info_", {}) or {})
    run.write_json(layout.ENV, environment(seed=cfg.seed, device=str(info.get("device", "cpu"))))
    metrics: dict[str, Any] = {split: result["metrics"] for split, result in scored.items()}
    metrics.update(
        {
            "name": cfg.name,
            "backend": cfg.model.backend,
            "model": cfg.model.name,
            "train_size": len(train_df),
            "n_classes": len(counts),
            "macro_over": "classes present in the evaluation split's gold labels",
            "tiers_rule": tiers.rule,
            "timing": {**timing, "total_s": round(time.perf_counter() - started, 3)},
            "info": info,
        }
    )
    if refit is not None:
        metrics["refit"] = refit
    run.write_json(layout.METRICS, metrics)


def _describe_data(prepared: Prepared, say) -> None:
    """The console lines about the splits (and the classes validation cannot see)."""
    test = prepared.test
    say(
        f"data: {len(prepared.train):,} train / {len(prepared.val):,} val"
        + (f" / {len(test):,} test" if test is not None else "")
        + f", {prepared.train['label'].nunique()} classes"
    )
    sub = prepared.reports.get("train_subsample")
    if sub:
        say(
            f"training split subsampled after the split: {sub['rows_after']:,} of "
            f"{sub['rows_before']:,} rows (fraction {sub['fraction']:g}; validation unchanged)"
        )
    # a class with one example cannot be split: it stays in training and validation never sees it
    singles = (prepared.reports.get("split") or {}).get("singletons_in_train") or []
    if singles:
        has = "classes have" if len(singles) > 1 else "class has"
        say(f"{len(singles)} {has} a single example: trained on, not validated")


def _train_counts(prepared: Prepared) -> dict[str, int]:
    return dict(Counter(prepared.train["label"]))


def _resume_folder(root: Path, name: str, given: str | Path | None, say) -> Path:
    """The unfinished run folder a resume continues: ``given``, or the newest of ``name``."""
    if given is not None:
        folder = Path(given)
        if in_progress(folder):
            raise DataError(f"train.resume: {folder} is still training (a live process holds it)")
    else:
        found = latest_interrupted(root, name)
        if found is None:
            raise DataError(_nothing_to_resume(root, name))
        folder = found
    say(f"resuming from {folder}")
    return folder


def _nothing_to_resume(root: Path, name: str) -> str:
    busy = [u for u in unfinished_runs(root, name) if u.in_progress]
    if busy:
        return (
            f"train.resume: the run '{name}' under {root} is still training ({busy[0].path}); "
            "wait for it to finish or stop it first"
        )
    return f"train.resume: no interrupted run named '{name}' under {root}"


def score_split(backend, frame: pd.DataFrame, train_counts, cfg: Config, split: str) -> dict:
    """Predict one split and compute its metrics, per-class table and prediction rows."""
    from tailtune.evaluation import compute_metrics, per_class_table, resolve_tiers

    texts, gold = frame["text"].tolist(), frame["label"].astype(str).to_numpy()
    proba = backend.predict_proba(texts)
    classes = np.asarray(backend.classes_, dtype=object)
    pred = classes[proba.argmax(axis=1)].astype(str)
    tiers = resolve_tiers(train_counts, cfg.eval.head_min, cfg.eval.tail_max)
    kw = {"train_counts": train_counts, "tiers": tiers.tiers}
    metrics = compute_metrics(gold, pred, **kw)
    metrics["tiers_rule"] = tiers.rule
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


def evaluate(
    run_path: str | Path, data_path: str | Path | None = None, overrides: list[str] | None = None
) -> dict[str, Any]:
    """Re-score a run's saved model on a labelled file read with the run's data options.

    The same path as ``tailtune evaluate`` (:func:`tailtune.apply.evaluate_file`): a run
    trained on several files reads the one file with its options (a per-file ``skip_rows``
    list becomes one number), ``overrides`` are ``data.FIELD=VALUE`` strings, and labels the
    run never trained on count as misses and are named in ``unseen``.
    """
    from tailtune.apply import evaluate_file

    if data_path is None:
        raise DataError("evaluate: give a labelled file with --data")
    return evaluate_file(run_path, data_path, overrides)


def predict(run_path: str | Path, texts: list[str], top_k: int = 3) -> pd.DataFrame:
    """Predict labels (with top-k probabilities) for raw texts with a run's saved model."""
    from tailtune.backends import load_backend

    run = read_run(run_path)
    backend = load_backend(run.path / layout.MODEL)
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
    """Record the run in the SQLite index of the runs folder it was written to."""
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

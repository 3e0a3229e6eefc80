"""The train workflow, top to bottom: prepare -> fit -> score -> refit -> write.

``train(cfg)`` prepares the data, fits the configured backend, scores every split, refits on
train + validation when asked, and writes a run directory (docs/architecture.md) atomically;
``resume`` continues an unfinished one. Everything downstream (reports, experiments, the index)
reads only run directories.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from tailtune.backends.build import check_settings, unread_defaults
from tailtune.config import Config, config_from_dict, dump_config
from tailtune.errors import DataError
from tailtune.runs import RunWriter, layout
from tailtune.runs.retention import prune_finished
from tailtune.runs.writer import (
    in_progress,
    latest_interrupted,
    unfinished_runs,
    writable_runs_dir,
)
from tailtune.workflow.fit import check_trainable, fit_backend, training_inputs
from tailtune.workflow.prepare import Prepared, prepare_data
from tailtune.workflow.refit import refit_backend, refit_decision, refit_phase
from tailtune.workflow.score import score_split, score_splits, train_counts
from tailtune.workflow.write import write_run

__all__ = ["resume", "train"]


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
    say = _logger(quiet or worker, None if worker else log, warn=not worker)
    for line in check_settings(cfg):  # a setting the backend cannot use: refused before any work
        say(f"warning: {line}")
    started = time.perf_counter()
    check_trainable(cfg)  # before any data is read or folder made
    root = Path(runs_dir if runs_dir is not None else cfg.runs_dir)
    if not worker:
        writable_runs_dir(root)  # before any work: a run that cannot be written is not started
    stem = dir_name or cfg.name
    prepared = prepare_data(cfg)
    _describe_data(prepared, say)
    _check_leakage(prepared, say)
    fit_texts, fit_labels, added = training_inputs(cfg, prepared.train)
    if added:
        prepared.reports["label_name_examples"] = added
        say(f"added {added['added']:,} label-name training texts")
    if resume_from is not None or cfg.train.resume:
        if not worker:
            resume_from = _resume_folder(root, stem, resume_from, say)
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, resume=True))
    changed = {}
    if resume_from is not None and not worker:
        from tailtune.workflow.resume_check import resume_changes

        changed = resume_changes(cfg, resume_from)
        for key, values in changed.items():
            say(f"resuming with {key} changed: {values['was']!r} → {values['now']!r}")
    if worker:
        return _train_beside_main(cfg, prepared, fit_texts, fit_labels, dist)

    with RunWriter(root, stem, resume_from=resume_from) as run:
        if dist is not None:
            dist.share(str(run.tmp))  # the other processes train in this folder
        # the run's record says how to train it again from scratch, not that it was resumed
        record = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, resume=False))
        # what the backend does not read, at its defaults, is left out (named in a comment)
        run.write_text(layout.CONFIG, dump_config(record, unread_defaults(record)))
        backend, fit_s = fit_backend(cfg, prepared, fit_texts, fit_labels, run.tmp, say)
        choices = _say_choices(cfg, backend, prepared, run.tmp, say)
        t_pred = time.perf_counter()
        scored = score_splits(backend, prepared, cfg)
        _check_predictions(backend, prepared, scored, say)
        timing = {"fit_s": round(fit_s, 3), "predict_s": round(time.perf_counter() - t_pred, 3)}
        # refit (tailtune.workflow.refit): validation metrics stay the selection model's, test is scored
        # with the model retrained on train + validation, which is the one saved
        backend, refit = refit_phase(cfg, prepared, backend, fit_texts, fit_labels, run.tmp, say)
        if refit["enabled"] and "test" in scored:
            refit["selection_test"] = scored["test"]["metrics"]
            scored["test"] = score_split(
                backend, prepared.test, train_counts(prepared), cfg, "test"
            )
        write_run(run, cfg, backend, prepared, scored, timing, started, refit=refit,
                  choices=choices, resume_changes=changed)  # fmt: skip
        if removed := prune_finished(run.tmp, cfg.train.keep_all_checkpoints):
            say(f"checkpoints: kept the newest and the best, removed {', '.join(removed)} "
                "(train.keep_all_checkpoints=true keeps them)")  # fmt: skip
        run.write_text(layout.LOG, "\n".join(say.lines) + "\n")
    say(f"run written to {run.final_path}")
    _index(root, run.final_path)
    if dist is not None:
        dist.share(str(run.final_path))
        dist.close()
    if cfg.train.report_to:  # after the run is written: a tracker that is down cannot cost it
        from tailtune.tracking import report_run

        t = cfg.train
        report_run(run.final_path, t.report_to, tracking_uri=t.tracking_uri, log_model=t.log_model,
                   experiment=t.tracking_experiment, runs_dir=root, say=say)  # fmt: skip
    return run.final_path


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


def _launch(cfg: Config):
    """The multi-process launch this process belongs to (None when it runs alone)."""
    from tailtune.training.distributed import launch, world_size

    return launch(cfg.train.device) if world_size() > 1 else None


def _train_beside_main(cfg: Config, prepared: Prepared, texts, labels, dist) -> Path:
    """A non-main process of a multi-process launch: train its share of every step in the run
    folder rank 0 created (checkpoints and best weights are read from there) and write
    nothing; the finished run directory rank 0 wrote is returned."""
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


def _describe_data(prepared: Prepared, say) -> None:
    """The console lines about the splits (and the classes validation cannot see)."""
    test = prepared.test
    say(
        f"data: {len(prepared.train):,} train / {len(prepared.val):,} val"
        + (f" / {len(test):,} test" if test is not None else "")
        + (
            f", {len(train_counts(prepared))} labels in sets"
            if prepared.set_separator
            else f", {prepared.train['label'].nunique()} classes"
        )
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


def _say_choices(cfg: Config, backend, prepared: Prepared, work: Path, say) -> dict:
    """What the fit chose on which rows (tailtune.workflow.choices): console, log.txt and, for
    runs with a training log, train.log."""
    from tailtune.workflow.choices import validation_choices

    choices = validation_choices(backend, len(prepared.val))
    for line in choices["lines"]:
        say(line)
    log = work / layout.TRAIN_LOG
    if choices["lines"] and log.is_file():
        with log.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in choices["lines"]))
    return choices


def _check_leakage(prepared: Prepared, say) -> None:
    """Validation / test texts also in training (or test in validation): one warning line per
    pair of splits, kept for metrics.json ``guards`` (tailtune.guards.leakage)."""
    from tailtune.guards import check_leakage

    test = prepared.test["text"].tolist() if prepared.test is not None else None
    found = check_leakage(prepared.train["text"].tolist(), prepared.val["text"].tolist(), test)
    for finding in found:
        say(f"warning: {finding.line()}")
    prepared.reports["guards"] = [f.to_dict() for f in found]


def _check_predictions(backend, prepared: Prepared, scored: dict, say) -> None:
    """A model without a training curve (the guards watched the others while they trained):
    collapsed or at-chance validation predictions, one warning line each."""
    if getattr(backend, "history_", None) or "val" not in scored:
        return
    if getattr(backend, "chance_by_design", False):
        return  # the majority baseline is the chance predictor itself
    if prepared.set_separator is not None:
        found = _check_set_predictions(backend, prepared, scored)
    else:
        from tailtune.guards import check_predictions

        rows = scored["val"]["predictions"]
        train = prepared.train

        def train_fit():  # only when validation is at chance: memorised or not learned?
            proba = backend.predict_proba(train["text"].tolist())
            classes = np.asarray(backend.classes_, dtype=object)
            return train["label"].astype(str).to_numpy(), classes[proba.argmax(axis=1)].astype(str)

        def held_out():  # only before a memorising cause: each training row predicted unseen
            from tailtune.backends.params import clone
            from tailtune.guards.final import cross_fitted

            return cross_fitted(lambda: clone(backend), train["text"].tolist(), train["label"])

        found = check_predictions(rows["gold"], rows["pred"], train_counts(prepared), train_fit,
                                  held_out)  # fmt: skip
    for finding in found:
        say(f"warning: {finding.line()}")
    prepared.reports["guards"] = prepared.reports.get("guards", []) + [f.to_dict() for f in found]


def _check_set_predictions(backend, prepared: Prepared, scored: dict) -> list:
    """The prediction guards on label sets: the saved decision rule's sets on validation (and
    on the training rows when validation is at chance)."""
    from tailtune.data.labelsets import indicator
    from tailtune.guards import check_set_predictions

    classes = [str(c) for c in backend.classes_]
    y_train = indicator(prepared.labels_of(prepared.train), classes)[0]
    y_val = indicator(prepared.labels_of(prepared.val), classes)[0]
    pred = backend.rule_.apply(scored["val"]["proba"])

    def train_fit():
        return y_train, backend.rule_.apply(backend.predict_proba(prepared.train["text"].tolist()))

    rates = np.asarray(y_train, dtype=float).mean(axis=0)
    return check_set_predictions(y_val, pred, rates, train_fit, classes)


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


def _logger(quiet: bool, log, warn: bool = False):
    lines: list[str] = []

    def say(msg: str) -> None:
        lines.append(msg)
        if log is not None:
            log(msg)
        elif not quiet:
            print(msg)
        elif warn and msg.startswith("warning:"):  # quiet drops the story, not warnings
            print(msg, file=sys.stderr)

    say.lines = lines  # type: ignore[attr-defined]
    return say

"""Score the checkpoints a neural run kept, and promote one to be the run's model.

A finished neural run holds ``checkpoints/best/model.pt`` (the weights of the best evaluation,
which the run's model carries unless it was refit) and the newest ``train.keep_checkpoints``
resumable ``checkpoints/step-NNNNNN/`` folders (raise it to keep intermediate ones, e.g. every
evaluation of a LoRA run). A refit's own checkpoints are not kept: its model is ``final``.
Each is scored by loading the run's saved model and putting the checkpoint's tensors into it
(:meth:`tailtune.backends._neural.NeuralBackend.load_checkpoint`): classes, τ and temperature
stay the run's own.

The default split is validation, not test: picking a checkpoint by its test score makes the
test figure of the chosen one optimistic (the test split would have been used for model
selection). ``--split test`` is there to look, ``--data FILE`` to score a file of one's own.

Promoting rewrites the run's model and, so that its figures describe the model it holds, its
validation/test metrics, per-class tables, predictions and probabilities. The replaced model is
kept as ``model.replaced-<stamp>/`` and metrics.json records the promotion, so nothing is lost.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailtune.errors import DataError
from tailtune.runs import layout

__all__ = ["Checkpoint", "evaluate_checkpoints", "list_checkpoints", "promote", "select"]

FINAL = "final"  # the run's saved model, listed beside the checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """One set of weights a run kept: ``name`` as the CLI spells it, ``path`` of its model.pt
    (None for ``final``, the run's saved model)."""

    name: str
    step: int | None
    path: Path | None
    phase: str  # "selection" (trained on the training split) or "refit" (train + validation)


def list_checkpoints(run_path: str | Path) -> list[Checkpoint]:
    """Every checkpoint of a finished run, in training order, then ``best`` and ``final``."""
    run_path = Path(run_path)
    out: list[Checkpoint] = []
    root = run_path / layout.CHECKPOINTS
    steps = sorted(
        (layout.step_of(d), d) for d in root.glob("step-*") if layout.step_of(d) is not None
    )
    for step, folder in steps:
        model = folder / layout.CKPT_MODEL
        if model.is_file() and (folder / layout.CKPT_STATE).is_file():  # complete ones only
            out.append(Checkpoint(f"step-{step}", step, model, "selection"))
    best = root / layout.BEST / layout.CKPT_MODEL
    if best.is_file():
        out.append(Checkpoint(layout.BEST, _best_step(run_path), best, "selection"))
    out.append(Checkpoint(FINAL, None, None, "refit" if _was_refit(run_path) else "selection"))
    return out


def select(run_path: str | Path, which: str) -> list[Checkpoint]:
    """The checkpoints ``which`` names: ``all``, ``best``, ``final``, ``step-60`` (or
    ``step-000060``, ``checkpoint-60``, ``60``); a name the run lacks is one error line."""
    kept = list_checkpoints(run_path)
    if which == "all":
        return kept
    want = _normalize(which)
    chosen = [c for c in kept if c.name == want]
    if not chosen:
        names = ", ".join(c.name for c in kept)
        if len(kept) == 1:
            raise DataError(
                f"{run_path}: no checkpoint '{which}'; this run kept none (only neural "
                "backends write checkpoints; train.keep_checkpoints sets how many are kept)"
            )
        raise DataError(f"{run_path}: no checkpoint '{which}'; it has: {names}")
    return chosen


def evaluate_checkpoints(
    run_path: str | Path,
    which: str = "all",
    *,
    split: str | None = None,
    data: str | Path | None = None,
    overrides: list[str] | None = None,
    say=None,
) -> dict[str, Any]:
    """Score each chosen checkpoint on a split of the run's data or on a labelled file.

    Returns ``{"rows": [{checkpoint, step, phase, in_sample, metrics}], "highest": name or
    None, "split": …, "trained_best": name or None, "notes": [...]}``; ``highest`` has the
    highest macro F1 among the rows scored on data the checkpoint did not train on (the earliest
    on a tie: fewer steps for the same score). A refit checkpoint scored on validation trained
    on those rows: it is ``in_sample`` and never ranked. ``trained_best`` is the checkpoint
    early stopping kept (the one meaning of "best").
    """
    from tailtune.backends import load_backend
    from tailtune.runs import read_run

    run = read_run(run_path)
    chosen = select(run.path, which)
    frame, where, counts, cfg, notes = _evaluation_data(run, split, data, overrides)
    for line in notes:
        if say is not None:
            say(line)
    rows = []
    base = None
    for ckpt in chosen:
        if ckpt.path is None:
            backend = load_backend(run.path / layout.MODEL)
        else:
            base = base or load_backend(run.path / layout.MODEL)
            _check_neural(base, run.path)
            base.load_checkpoint(ckpt.path)
            backend = base
        rows.append(
            {
                "checkpoint": ckpt.name,
                "step": ckpt.step,
                "phase": ckpt.phase,
                # a refit model trained on train + validation: its validation score is in-sample
                "in_sample": data is None and where == "val split" and ckpt.phase == "refit",
                "metrics": _score(backend, frame, counts, cfg),
            }
        )
    # ties go to fewer steps; "final" (no step of its own) loses them; in-sample rows never rank
    ranked = [r for r in rows if not r["in_sample"]]
    best = max(
        ranked,
        key=lambda r: (r["metrics"]["macro_f1"], -(r["step"] if r["step"] is not None else 1e18)),
        default=None,
    )
    return {
        "run": str(run.path),
        "evaluated_on": where,
        "rows": rows,
        "highest": best["checkpoint"] if best is not None else None,
        "trained_best": f"step-{step}" if (step := _best_step(run.path)) else None,
        "notes": notes,
    }


def promote(run_path: str | Path, which: str, *, say=None) -> dict[str, Any]:
    """Make checkpoint ``which`` the run's model and rescore the run's own splits with it.

    The replaced model folder is kept as ``model.replaced-<stamp>``; metrics.json gets a
    ``promoted`` record (checkpoint, step, when, the replaced folder, the figures before).
    """
    from tailtune.backends import load_backend
    from tailtune.config import config_from_dict
    from tailtune.runs import read_run
    from tailtune.runs.data_files import locate_data
    from tailtune.runs.writer import write_json_atomic
    from tailtune.workflow.prepare import prepare_data
    from tailtune.workflow.score import score_split

    run = read_run(run_path)
    (ckpt,) = select(run.path, which) if which != "all" else (None,)
    if ckpt is None or ckpt.path is None:
        raise DataError(f"--promote {which}: name one checkpoint (e.g. step-60 or best)")
    backend = load_backend(run.path / layout.MODEL)
    _check_neural(backend, run.path)
    backend.load_checkpoint(ckpt.path)
    cfg = config_from_dict(locate_data(run))
    prepared = prepare_data(cfg)
    counts = {k: int(v) for k, v in run.labels.get("train_counts", {}).items()}
    frames = {"val": prepared.val} if len(prepared.val) else {}
    if prepared.test is not None:
        frames["test"] = prepared.test
    _check_same_rows(run, frames)
    scored = {name: score_split(backend, f, counts, cfg, name) for name, f in frames.items()}

    stamp = time.strftime("%Y%m%d-%H%M%S")
    new_model = run.path / f".{layout.MODEL}.promote-{stamp}"
    backend.save(new_model)  # everything new is written first; the swap below is renames only
    _write_scored(run.path, scored, backend.classes_)
    replaced = run.path / f"{layout.MODEL}.replaced-{stamp}"
    (run.path / layout.MODEL).rename(replaced)
    new_model.rename(run.path / layout.MODEL)

    metrics = dict(run.metrics)
    record = {
        "checkpoint": ckpt.name,
        "step": ckpt.step,
        "phase": ckpt.phase,
        "at": stamp,
        "replaced_model": replaced.name,
        "before": {s: metrics.get(s) for s in scored},
    }
    metrics.setdefault("promotions", []).append(record)
    metrics["promoted"] = record
    for name, result in scored.items():
        metrics[name] = result["metrics"]
    write_json_atomic(run.path / layout.METRICS, metrics)
    if say is not None:
        say(f"{run.path}: model is now {ckpt.name}; the previous one is in {replaced.name}")
    return {"record": record, "metrics": {s: r["metrics"] for s, r in scored.items()}}


# -- helpers ------------------------------------------------------------------------------------


def _normalize(which: str) -> str:
    m = re.fullmatch(r"(?:step-?|checkpoint-)?0*(\d+)", which.strip())
    return f"step-{int(m.group(1))}" if m else which.strip()


def _metrics(run_path: Path) -> dict:
    """metrics.json of a run, or {} when it is missing or unreadable (names still list)."""
    import json

    try:
        metrics = json.loads((run_path / layout.METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metrics if isinstance(metrics, dict) else {}


def _best_step(run_path: Path) -> int | None:
    metrics = _metrics(run_path)
    # a refit run's "info" is the refit model's; the selection model's best step is kept aside
    info = (metrics.get("refit") or {}).get("selection_info") or metrics.get("info") or {}
    step = info.get("best_step")
    return int(step) if step else None


def _was_refit(run_path: Path) -> bool:
    return bool((_metrics(run_path).get("refit") or {}).get("enabled"))


def _check_neural(backend, run_path: Path) -> None:
    if not hasattr(backend, "load_checkpoint"):
        raise DataError(
            f"{run_path}: a {getattr(backend, 'name', 'this')} run has no training checkpoints "
            "to load (ensemble and cascade members: evaluate the member's own run)"
        )


def _evaluation_data(run, split, data, overrides):
    """(frame, description, train counts, config, notes) of what the checkpoints are scored on."""
    from tailtune.config import config_from_dict
    from tailtune.runs.data_files import locate_data

    counts = {k: int(v) for k, v in run.labels.get("train_counts", {}).items()}
    if data is None or split is not None:
        # the run's own split; with --split, --data says where the run's data is now (moved)
        cfg = config_from_dict(locate_data(run, [data] if data is not None else None))
    else:
        cfg = config_from_dict(run.config)
    if data is not None and split is None:
        from tailtune.workflow.apply import file_data_options, unseen
        from tailtune.workflow.prepare import load_frame

        options, notes = file_data_options(run.config, overrides, data)
        frame, _ = load_frame(options, str(data), min_classes=1)
        missing = unseen(frame["label"], run.labels.get("classes") or [])
        if missing["count"]:
            notes.append(
                f"warning: {missing['count']} label(s) in {Path(data).name} were never seen in "
                f"training ({missing['rows']:,} rows, scored as misses)"
            )
        return frame, str(data), counts, cfg, notes
    from tailtune.workflow.prepare import prepare_data

    split = split or "val"
    if split not in ("val", "test"):
        raise DataError(f"--split {split}: expected val or test")
    prepared = prepare_data(cfg)
    frame = prepared.val if split == "val" else prepared.test
    if frame is None or len(frame) == 0:
        raise DataError(f"{run.path}: the run has no {split} split; give --data FILE")
    _check_same_rows(run, {split: frame})
    notes = []
    if split == "val" and _was_refit(run.path):
        notes.append(
            "note: this run was refit on train + validation; 'final' and refit/ checkpoints "
            "have seen the validation rows (their validation figures are in-sample)"
        )
    if split == "test":
        notes.append(
            "note: choosing a checkpoint by its test score makes that score optimistic; "
            "choose on validation and look at test once"
        )
    return frame, f"{split} split", counts, cfg, notes


def _check_same_rows(run, frames: dict) -> None:
    """The re-made split must hold the rows the run scored (the data files may have changed)."""
    preds = run.predictions
    for name, frame in frames.items():
        if "split" not in preds.columns:
            return
        had = preds.loc[preds["split"] == name, "text"].astype(str).tolist()
        now = frame["text"].astype(str).tolist()
        if had and had != now:
            raise DataError(
                f"{run.path}: the {name} split made again from the run's config differs from "
                f"the one it was scored on ({len(now):,} rows now, {len(had):,} then): the data "
                "files changed; score a file instead with --data FILE"
            )


def _score(backend, frame, counts, cfg) -> dict:
    from tailtune.workflow.score import score_split

    return score_split(backend, frame, counts, cfg, "eval")["metrics"]


def _write_scored(run_path: Path, scored: dict, classes) -> None:
    """Per-class tables, predictions and probabilities of the rescored splits, in the run
    writer's formats; each file is written beside its target and renamed over it."""
    import numpy as np
    import pandas as pd

    def atomic(name: str, write) -> None:
        tmp = run_path / f".{name}.promote.tmp"
        write(tmp)
        tmp.replace(run_path / name)

    for split, result in scored.items():
        table = result["per_class"]
        atomic(
            layout.per_class_file(split),
            lambda p, t=table: t.to_csv(p, index=False, lineterminator="\n"),
        )
    rows = pd.concat([r["predictions"] for r in scored.values()], ignore_index=True)
    atomic(layout.PREDICTIONS, lambda p: rows.to_csv(p, index=False, lineterminator="\n"))
    arrays = {s: r["proba"].astype(np.float32) for s, r in scored.items()}

    def npz(p: Path) -> None:
        with open(p, "wb") as fh:  # a file object: savez would append ".npz" to a path
            np.savez_compressed(fh, classes=np.asarray(classes, dtype=str), **arrays)

    atomic(layout.PROBABILITIES, npz)

"""The Optuna study behind a sweep: SQLite storage, TPE, a median pruner, and resume.

The study lives in storage (default ``sqlite:///<sweep folder>/study.db``), so a sweep killed at
any moment resumes by starting it again under the same name: finished trials count, and a trial
whose driver died is settled from its run folder when that run finished, else marked failed
and its parameters queued again (Optuna's ``enqueue_trial``).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from tailtune.errors import ConfigError
from tailtune.runs.index import pid_alive
from tailtune.sweep.spec import Param, SweepSpec

__all__ = ["open_study", "suggest", "counted", "settle_orphans", "DRIVER_ATTR"]

DRIVER_ATTR = "driver"  # "<host>:<pid>" of the sweep process that asked the trial
SPACE_ATTR = "search_space"


def open_study(
    spec: SweepSpec, storage: str, workers: int, base_hash: str = "", recorded=lambda: set()
):
    """Create the study, or load the one of this name (its search space, metric and base
    config, by ``base_hash``, must be unchanged: trials of two bases never mix).

    ``recorded`` gives the hashes of the base as the finished trials recorded it, read through
    today's schema (:func:`tailtune.sweep.trials.recorded_base_hashes`): when the stored hash
    differs only because tailtune gained settings since, the study is the same and resumes."""
    from tailtune._extras import require

    optuna = require("optuna", "tailtune sweep")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:  # a resumed study: the sampler's seed moves on, or its first draws would repeat
        earlier = len(optuna.load_study(study_name=spec.name, storage=storage).trials)
    except KeyError:
        earlier = 0
    sampler = optuna.samplers.TPESampler(
        seed=spec.seed + earlier,
        n_startup_trials=max(spec.startup_trials, 1),
        constant_liar=workers > 1,
    )
    pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_evals
        )
        if spec.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        study_name=spec.name, storage=storage, sampler=sampler, pruner=pruner,
        direction="maximize", load_if_exists=True,
    )  # fmt: skip
    space = json.dumps([_describe(p) for p in spec.params], sort_keys=True)
    own = {SPACE_ATTR: space, "metric": spec.metric, "base_config": base_hash}
    if SPACE_ATTR not in study.user_attrs:
        for key, value in own.items():
            study.set_user_attr(key, value)
    else:
        changed = [k for k, v in own.items() if study.user_attrs.get(k) != v]
        if changed == ["base_config"] and base_hash in recorded():
            study.set_user_attr("base_config", base_hash)  # same base, settings added since
            changed = []
        if changed:
            what = {SPACE_ATTR: "params", "metric": "metric", "base_config": "base config"}
            raise ConfigError(
                f"sweep '{spec.name}': the study in {storage} was run with another "
                f"{' and '.join(what[k] for k in changed)}; give the sweep a new name (or remove "
                "that study) to search anew"
            )
    return study


def _describe(p: Param) -> dict[str, Any]:
    return {"field": p.field, "kind": p.kind(), "low": p.low, "high": p.high, "log": p.log,
            "step": p.step, "choices": p.choices}  # fmt: skip


def suggest(trial, params: list[Param]) -> dict[str, Any]:
    """The trial's value of every searched field (Optuna's suggest_* per kind)."""
    values: dict[str, Any] = {}
    for p in params:
        if p.choices is not None:
            # Optuna stores categorical choices as JSON-able primitives; lists go as JSON text
            shown = [json.dumps(c) if isinstance(c, list | dict) else c for c in p.choices]
            picked = trial.suggest_categorical(p.field, shown)
            values[p.field] = p.choices[shown.index(picked)]
        elif p.integer:
            step = int(p.step or 1)
            values[p.field] = trial.suggest_int(
                p.field, int(p.low), int(p.high), step=step, log=p.log
            )
        else:
            values[p.field] = trial.suggest_float(p.field, p.low, p.high, step=p.step, log=p.log)
    trial.set_user_attr(DRIVER_ATTR, driver_id())
    return values


def driver_id() -> str:
    """This process, as stored on the trials it asks."""
    return f"{socket.gethostname()}:{os.getpid()}"


def counted(study) -> int:
    """Trials that count toward the budget: completed, pruned, and failed ones that ran (a
    trial whose driver died before it finished does not count: its parameters were queued
    again, and the queued trial names it in ``requeued_from``)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    orphans = {t.user_attrs["requeued_from"] for t in trials if "requeued_from" in t.user_attrs}
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return sum(t.state in done and t.number not in orphans for t in trials)


def settle_orphans(study, sweep_dir: Path, finish) -> list[int]:
    """Trials left RUNNING by a driver that is gone (killed): told from their finished run
    folder when there is one (``finish(trial_number, run_dir)``), else failed and re-queued."""
    from optuna.trial import TrialState

    settled = []
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        who = str(t.user_attrs.get(DRIVER_ATTR, ":"))
        owner_host, _, pid = who.rpartition(":")
        if owner_host == host and pid.isdigit() and pid_alive(int(pid)):
            continue  # another live sweep process on this machine runs it
        if owner_host not in (host, ""):
            continue  # another machine's driver: not ours to judge
        run_dir = finished_trial_dir(sweep_dir, t.number)
        if run_dir is not None:
            finish(t.number, run_dir)
        else:
            study.tell(t.number, state=TrialState.FAIL)
            study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number})
        settled.append(t.number)
    return settled


def trial_dir_name(number: int) -> str:
    """The folder stem of trial ``number`` (the run writer adds a timestamp)."""
    return f"trial-{number:04d}"


def finished_trial_dir(sweep_dir: Path, number: int) -> Path | None:
    """The finished run folder of trial ``number``, or None."""
    from tailtune.runs.reader import is_run_dir

    found = [d for d in sorted(sweep_dir.glob(f"{trial_dir_name(number)}-*")) if is_run_dir(d)]
    return found[-1] if found else None

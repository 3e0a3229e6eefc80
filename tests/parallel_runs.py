"""Train several runs at once, one process each: the real-data tests' fixtures train two
single-threaded TF-IDF runs, which side by side take the time of one on a 2-core machine."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path


def _train(cfg, name):
    from tailtune.workflow import train

    return Path(train(cfg, run_name=name))


def train_side_by_side(configs: list, names: list[str | None] | None = None) -> list[Path]:
    """``tailtune.workflow.train`` on each config in its own process (spawned: the test process
    may hold torch's threads, which a fork would copy mid-state); the run folders, in order."""
    names = names or [None] * len(configs)
    with ProcessPoolExecutor(len(configs), mp_context=get_context("spawn")) as pool:
        return list(pool.map(_train, configs, names))

"""Unfinished run folders: in progress vs interrupted, step reached, resumable, abandoned cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tailtune.errors import TailtuneError
from tailtune.runs import find_abandoned, find_unfinished, list_runs, remove_abandoned
from tailtune.runs.clean import parse_age, unfinished_table

from .test_index import make_run

pytestmark = pytest.mark.unit


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def _folder(root: Path, name: str, *, steps=(), partial=(), nbytes=1000, age_s=0.0) -> Path:
    p = root / name
    for s in steps:
        ck = p / "checkpoints" / f"step-{s:06d}"
        ck.mkdir(parents=True)
        (ck / "model.pt").write_bytes(b"x" * nbytes)
        (ck / "state.json").write_text("{}")
    for s in partial:  # killed while writing: no state.json yet
        ck = p / "checkpoints" / f"step-{s:06d}"
        ck.mkdir(parents=True)
        (ck / "model.pt").write_bytes(b"x" * nbytes)
    p.mkdir(parents=True, exist_ok=True)
    (p / "history.jsonl").write_text("{}\n")
    if age_s:
        old = time.time() - age_s
        for dirpath, _, files in os.walk(p):
            for f in files:
                os.utime(os.path.join(dirpath, f), (old, old))
            os.utime(dirpath, (old, old))
    return p


@pytest.fixture
def leftovers(tmp_path):
    dead = _dead_pid()
    make_run(tmp_path, "done")
    _folder(
        tmp_path, f".tmp-killed-20260101-120000-{dead}", steps=[10], partial=[20], age_s=3 * 86400
    )
    _folder(tmp_path, f".tmp-live-20260101-130000-{os.getpid()}", steps=[5], age_s=3 * 86400)
    _folder(tmp_path, ".interrupted-stopped-20260101-140000", age_s=7200)
    _folder(tmp_path / "exp", f".tmp-cell-s1-abc123-20260101-150000-{dead}", steps=[3, 6])
    return tmp_path, dead


def test_unfinished_folders_state_step_resumable_and_size(leftovers):
    root, dead = leftovers
    by_name = {u.name: u for u in find_unfinished(root)}
    assert set(by_name) == {"killed", "live", "stopped", "cell-s1-abc123"}
    killed, live = by_name["killed"], by_name["live"]
    assert (killed.state, killed.step, killed.resumable, killed.pid) == (
        "interrupted",
        10,
        True,
        dead,
    )
    assert killed.size == 2 * 1000 + 2 + 3  # two model files, state.json, history.jsonl
    assert (live.state, live.resumable) == ("in progress", False)  # its writer is this process
    assert (by_name["stopped"].step, by_name["stopped"].resumable) == (None, False)
    assert by_name["cell-s1-abc123"].step == 6
    table = unfinished_table(root)
    assert list(table.columns) == [
        "name",
        "state",
        "step",
        "resumable",
        "size",
        "age",
        "pid",
        "folder",
    ]
    row = table.set_index("name").loc["killed"]
    assert (row["resumable"], row["size"], row["age"]) == ("yes", "2.0 kB", "3d")
    assert list_runs(root)["name"].tolist() == ["done"]  # unfinished folders are not runs


def test_find_abandoned_respects_age_and_never_lists_a_live_writer(leftovers):
    root, _ = leftovers
    names = lambda items: sorted(u.name for u in items)  # noqa: E731
    assert names(find_abandoned(root)) == ["cell-s1-abc123", "killed", "stopped"]
    assert names(find_abandoned(root, older_than="1d")) == ["killed"]
    assert names(find_abandoned(root, older_than="1h")) == ["killed", "stopped"]
    assert names(find_abandoned(root, older_than=3600)) == ["killed", "stopped"]


def test_remove_abandoned_deletes_only_what_was_listed_and_is_still_dead(leftovers):
    root, _ = leftovers
    items = find_abandoned(root, older_than="1h")
    removed = remove_abandoned(items)
    assert sorted(u.name for u in removed) == ["killed", "stopped"]
    assert sorted(u.name for u in find_unfinished(root)) == ["cell-s1-abc123", "live"]
    assert list_runs(root)["name"].tolist() == ["done"]
    assert remove_abandoned(items) == []  # already gone: nothing to do


def test_parse_age_and_its_error():
    assert parse_age("90s") == 90 and parse_age("30m") == 1800 and parse_age("1d") == 86400
    assert parse_age("1.5h") == 5400 and parse_age("10") == 10
    with pytest.raises(TailtuneError, match=r"^--older-than 'yesterday': expected a duration"):
        parse_age("yesterday")


def test_missing_runs_folder_is_an_error(tmp_path):
    with pytest.raises(TailtuneError, match="does not exist"):
        find_abandoned(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()

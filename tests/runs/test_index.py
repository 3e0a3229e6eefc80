"""The SQLite run index: indexing run dirs, status, rebuild when corrupt, concurrent writers, queries."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest
import yaml

from tailtune.config import Config, config_to_dict
from tailtune.errors import TailtuneError
from tailtune.runs import RunWriter
from tailtune.runs.index import (
    compare_runs,
    ensure_index,
    index_path,
    index_run,
    list_runs,
    mark_status,
    rebuild_index,
    run_config_hash,
    show_run,
    walk_runs,
)

pytestmark = pytest.mark.unit


def make_run(runs_dir: Path, name: str, *, backend="tfidf", path="data/cfpb.csv", seed=1,
             macro_f1=0.5, accuracy=0.6, zero_f1=3, batch=32) -> Path:  # fmt: skip
    """A minimal finished run directory (config.yaml + metrics.json)."""
    cfg = config_to_dict(Config(name=name, seed=seed))
    cfg["model"]["backend"] = backend
    cfg["data"]["path"] = path
    cfg["train"]["batch_size"] = batch
    metrics = {
        "val": {"accuracy": accuracy, "macro_f1": macro_f1, "zero_f1": zero_f1, "n_classes": 5,
                "tiers": {"head": {"mean_f1": 0.9}, "tail": {"mean_f1": macro_f1 / 2}}},
        "train_size": 100,
        "timing": {"fit_s": 1.5, "predict_s": 0.5, "total_s": 2.0},
    }  # fmt: skip
    with RunWriter(runs_dir, name) as w:
        w.write_text("config.yaml", yaml.safe_dump(cfg))
        w.write_json("metrics.json", metrics)
    return w.final_path


@pytest.fixture
def runs(tmp_path):
    make_run(tmp_path, "a", backend="tfidf", path="/d/cfpb/train.csv", macro_f1=0.31, seed=1)
    make_run(tmp_path, "b", backend="majority", path="/d/cfpb/train.csv", macro_f1=0.01, zero_f1=9)
    make_run(
        tmp_path / "exp1", "c", backend="tfidf", path="/d/atis/train.tsv", macro_f1=0.72, batch=4
    )
    return tmp_path


def test_rebuild_walks_nested_dirs_and_reads_metrics(runs):
    assert len(walk_runs(runs)) == 3
    db = rebuild_index(runs)
    frame = list_runs(runs, sort="macro_f1")
    assert list(frame["name"]) == ["c", "a", "b"]  # best macro F1 first
    assert list(frame["macro_f1"]) == [0.72, 0.31, 0.01]
    assert frame.loc[frame["name"] == "c", "experiment"].item() == "exp1"
    assert set(frame["status"]) == {"finished"}
    assert frame.loc[0, "total_s"] == 2.0
    assert db == index_path(runs)


def test_filters_contains_equals_numeric_and_dotted_config(runs):
    cfpb = list_runs(runs, where=["data.path~CFPB"], sort="macro_f1")
    assert list(cfpb["name"]) == ["a", "b"]
    assert list(list_runs(runs, where=["backend=majority"])["name"]) == ["b"]
    assert list(list_runs(runs, where=["train.batch_size=4"])["name"]) == ["c"]
    assert list(
        list_runs(runs, where=["macro_f1>0.3", "backend!=majority"], sort="name")["name"]
    ) == ["a", "c"]
    extra = list_runs(runs, sort="zero_f1", columns=["train.batch_size"])
    assert list(extra["zero_f1"]) == [3, 3, 9]  # fewest zero-F1 classes first
    assert list(extra["train.batch_size"]) == [32, 4, 32] or list(extra["train.batch_size"]) == [
        4,
        32,
        32,
    ]
    with pytest.raises(TailtuneError, match="expected field=value"):
        list_runs(runs, where=["backend"])


def test_show_and_compare(runs):
    rebuild_index(runs)
    row = show_run(runs, "c")  # by name
    assert row["experiment"] == "exp1"
    assert row["metrics"]["val"]["macro_f1"] == 0.72
    with pytest.raises(TailtuneError, match="not in"):
        show_run(runs, "nope")
    a = list_runs(runs, where=["name=a"])["run_dir"].item()
    c = list_runs(runs, where=["name=c"])["run_dir"].item()
    table = compare_runs(runs, [a, c])
    assert table.loc["macro_f1"].tolist() == [0.31, 0.72]
    assert table.loc["train.batch_size"].tolist() == [32, 4]
    assert "train.lr" not in table.index  # same in both: not a difference
    assert table.loc["tail.mean_f1"].tolist() == [0.155, 0.36]


def test_status_rows_then_finished_run_keeps_created_and_clears_error(tmp_path):
    db = index_path(tmp_path)
    cfg = config_to_dict(Config(name="x", seed=3))
    mark_status(db, "exp/abc", "running", config=cfg, experiment="exp")
    mark_status(db, "exp/abc", "failed", error="RuntimeError: boom")
    frame = list_runs(tmp_path, where=["status=failed"])
    assert frame["error"].item() == "RuntimeError: boom"
    assert frame["seed"].item() == 3
    assert frame["config_hash"].item() == run_config_hash(cfg)
    run = make_run(tmp_path / "exp", "x", seed=3)
    index_run(db, run, key="exp/abc")
    frame = list_runs(tmp_path)
    assert len(frame) == 1 and frame["status"].item() == "finished"
    assert frame["error"].item() is None and frame["macro_f1"].item() == 0.5


def test_config_hash_ignores_runs_dir_and_matches_yaml_roundtrip():
    cfg = Config(name="e", seed=2)
    d = config_to_dict(cfg)
    assert run_config_hash(cfg) == run_config_hash(yaml.safe_load(yaml.safe_dump(d)))
    assert run_config_hash(Config(name="e", seed=2, runs_dir="/elsewhere")) == run_config_hash(cfg)
    assert run_config_hash(Config(name="e", seed=3)) != run_config_hash(cfg)


def test_corrupt_index_is_rebuilt_from_run_dirs(runs):
    db = rebuild_index(runs)
    mark_status(db, "ghost", "failed", error="x")  # status-only rows are lost on rebuild
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(db).execute("SELECT * FROM runs").fetchall()
    ensure_index(runs)
    assert sorted(list_runs(runs)["name"]) == ["a", "b", "c"]
    db.unlink()
    assert len(list_runs(runs)) == 3  # missing index: rebuilt too


def _writer(db: str, worker: int, n: int) -> None:
    for i in range(n):
        mark_status(db, f"w{worker}/{i}", "running", config={"name": f"w{worker}", "seed": i})
        mark_status(db, f"w{worker}/{i}", "finished")


def test_concurrent_writers_from_several_processes(tmp_path):
    db = str(index_path(tmp_path))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*), SUM(status='finished') FROM runs").fetchone() == (60, 60)


# -- reconciliation with the folders -------------------------------------------------------------


def test_run_deleted_by_hand_drops_out_and_copied_in_run_is_added(runs):
    import shutil

    assert sorted(list_runs(runs)["name"]) == ["a", "b", "c"]
    gone = next(runs.glob("b-*"))
    shutil.rmtree(gone)
    assert sorted(list_runs(runs)["name"]) == ["a", "c"]
    make_run(runs / "exp2", "d", macro_f1=0.4)  # written without touching the index
    (runs / "exp2" / "unrelated").mkdir()  # an empty folder is not a run
    frame = list_runs(runs)
    assert sorted(frame["name"]) == ["a", "c", "d"]
    assert frame.loc[frame["name"] == "d", "experiment"].item() == "exp2"
    assert show_run(runs, "d")["macro_f1"] == 0.4


def test_changed_metrics_are_reread(runs):
    import json
    import os

    run = next(runs.glob("a-*"))
    assert show_run(runs, "a")["macro_f1"] == 0.31
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["val"]["macro_f1"] = 0.42
    (run / "metrics.json").write_text(json.dumps(metrics))
    st = (run / "metrics.json").stat()
    os.utime(run / "metrics.json", (st.st_atime, st.st_mtime + 5))
    assert show_run(runs, "a")["macro_f1"] == 0.42


def test_empty_index_file_is_rebuilt(runs):
    db = rebuild_index(runs)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")  # a 0-byte index.db
    assert sorted(list_runs(runs)["name"]) == ["a", "b", "c"]


def test_old_schema_index_is_rebuilt_and_versioned(runs):
    db = index_path(runs)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, name TEXT, status TEXT)")
    con.execute("INSERT INTO runs VALUES ('stale', 'zzz', 'finished')")
    con.commit()
    con.close()
    assert sorted(list_runs(runs)["name"]) == ["a", "b", "c"]  # 'zzz' of the old table is gone
    con = sqlite3.connect(db)
    from tailtune.runs.index import SCHEMA_VERSION

    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_missing_runs_folder_is_an_error_and_is_not_created(tmp_path):
    from tailtune.errors import DataError

    missing = tmp_path / "runz"
    for call in (
        lambda: list_runs(missing),
        lambda: show_run(missing, "x"),
        lambda: compare_runs(missing, ["x", "y"]),
        lambda: rebuild_index(missing),
        lambda: ensure_index(missing),
    ):
        with pytest.raises(DataError, match=r"^runs folder '.*runz' does not exist"):
            call()
    assert not missing.exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match="is not a folder"):
        list_runs(tmp_path / "afile")


def test_running_row_of_a_dead_process_becomes_interrupted(tmp_path):
    import subprocess
    import sys

    db = index_path(tmp_path)
    cfg = config_to_dict(Config(name="x", seed=3))
    code = (
        "import sys; from tailtune.runs.index import mark_status; "
        "mark_status(sys.argv[1], 'exp/dead', 'running', config={'name': 'x'})"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True)  # that process has ended
    mark_status(db, "exp/alive", "running", config=cfg)  # this process is alive
    assert sorted(list_runs(tmp_path)["status"]) == ["interrupted", "running"]
    row = show_run(tmp_path, "exp/dead")
    assert row["status"] == "interrupted" and "ended before the run finished" in row["error"]
    assert show_run(tmp_path, "exp/alive")["status"] == "running"


def _reader(runs_dir: str, n: int) -> None:
    for _ in range(n):
        list_runs(runs_dir)


def test_concurrent_readers_reconcile_while_runs_appear(tmp_path):
    (tmp_path / "seed").mkdir()
    db = index_path(tmp_path)
    db.write_bytes(b"garbage, not sqlite" * 50)  # both readers find it unreadable at once
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_reader, args=(str(tmp_path), 8)) for _ in range(2)]
    for p in procs:
        p.start()
    for i in range(6):
        make_run(tmp_path / "exp", f"r{i}", seed=i)
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(list_runs(tmp_path)["name"]) == [f"r{i}" for i in range(6)]

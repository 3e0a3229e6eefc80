"""A runs folder that cannot be written (an archive, a shared mount) serves every read command;
a broken index file is rebuilt or named in one line."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.reliability.conftest import cli, one_line

pytestmark = pytest.mark.integration


@pytest.fixture
def runs(tmp_path, tfidf_run):
    """A copy of the runs folder with its index and an abandoned temporary folder."""
    root = shutil.copytree(tfidf_run.parent, tmp_path / "runs")
    (root / ".tmp-gone-20260101-000000-999999").mkdir()
    return root


def _listed(monkeypatch, capsys, root):
    code, out, err = cli(monkeypatch, capsys, "runs", "list", root, "--json")
    assert code in (0, None), err
    return json.loads(out)


def test_read_commands_on_a_read_only_runs_folder(monkeypatch, capsys, tmp_path, runs, read_only):
    before = sorted(p.name for p in runs.iterdir())
    read_only(runs)
    (row,) = _listed(monkeypatch, capsys, runs)
    assert row["status"] == "finished" and row["backend"] == "tfidf"
    run = runs / row["run_dir"]
    for args in (
        ["runs", "show", row["run_dir"], "--runs-dir", runs],
        ["runs", "show", run],
        ["predict", run, "--text", "card fee"],
        ["evaluate", run, "--split", "val"],
        ["errors", run],
        ["report", run, "-o", tmp_path / "r.html"],
    ):
        code, out, err = cli(monkeypatch, capsys, *args)
        assert code in (0, None), (args, err)
        assert "Traceback" not in err
    assert sorted(p.name for p in runs.iterdir()) == before  # nothing written in the folder


def test_read_only_folder_with_a_garbage_index(monkeypatch, capsys, runs, read_only):
    (runs / "index.db").write_bytes(b"not a database at all" * 100)
    read_only(runs)
    (row,) = _listed(monkeypatch, capsys, runs)
    assert row["status"] == "finished"


def test_writes_on_a_read_only_folder_are_one_line(monkeypatch, capsys, runs, read_only):
    read_only(runs)
    code, out, err = cli(monkeypatch, capsys, "runs", "reindex", runs)
    one_line(code, out, err, f"{runs}: cannot write the index here")
    code, out, err = cli(monkeypatch, capsys, "runs", "clean", runs, "--yes")
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: 1 folder(s) could not be removed")
    assert (runs / ".tmp-gone-20260101-000000-999999").is_dir()


def test_garbage_index_is_rebuilt(monkeypatch, capsys, runs):
    (runs / "index.db").write_bytes(b"\x00garbage" * 500)
    (row,) = _listed(monkeypatch, capsys, runs)
    assert row["status"] == "finished"
    assert (runs / "index.db").read_bytes()[:15] == b"SQLite format 3"


def test_index_that_is_a_folder(monkeypatch, capsys, runs):
    for suffix in ("", "-wal", "-shm"):
        (runs / f"index.db{suffix}").unlink(missing_ok=True)
    (runs / "index.db").mkdir()
    for args in (["runs", "list", runs], ["runs", "reindex", runs]):
        code, out, err = cli(monkeypatch, capsys, *args)
        one_line(code, out, err, f"{runs / 'index.db'}: is a folder, not the run index")
    assert (runs / "index.db").is_dir()  # a folder of the user's is never deleted

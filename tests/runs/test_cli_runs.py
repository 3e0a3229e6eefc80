"""`tailtune runs list / clean` on real folders: unfinished runs shown apart, abandoned removed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tailtune import cli

from .test_clean import leftovers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

runner = CliRunner()


def _run(*args):
    return runner.invoke(cli.app, list(args), env={"COLUMNS": "200"})


def test_list_shows_finished_then_unfinished_runs(leftovers):  # noqa: F811
    root, _ = leftovers
    out = _run("runs", "list", str(root))
    assert out.exit_code == 0, out.output
    head, _, tail = out.output.partition("unfinished runs in")
    assert "done" in head and "killed" not in head
    for word in ("killed", "interrupted", "in progress", "live", "stopped", "2.0 kB"):
        assert word in tail


def test_clean_lists_then_removes_only_with_yes(leftovers):  # noqa: F811
    root, _ = leftovers
    listed = _run("runs", "clean", str(root), "--older-than", "1h")
    assert listed.exit_code == 0, listed.output
    assert "killed" in listed.output and "stopped" in listed.output and "live" not in listed.output
    assert "2 folder(s)" in listed.output and "re-run with --yes" in listed.output
    assert len(list(root.glob(".tmp-killed-*"))) == 1  # nothing removed without --yes
    done = _run("runs", "clean", str(root), "--older-than", "1h", "--yes")
    assert done.exit_code == 0 and "removed 2 folder(s)" in done.output
    assert not list(root.glob(".tmp-killed-*")) and list(root.glob(".tmp-live-*"))


def _proc(*args):
    return subprocess.run([sys.executable, "-m", "tailtune", *args], capture_output=True, text=True)


def test_missing_folder_and_bad_duration_are_one_line_errors(tmp_path):
    missing = tmp_path / "nope"
    for args in (("runs", "list", str(missing)), ("runs", "clean", str(missing))):
        res = _proc(*args)
        assert res.returncode == 1 and res.stdout == ""
        assert res.stderr == f"error: runs folder '{missing}' does not exist (train a run first, or check the path)\n"  # fmt: skip
        assert not missing.exists()
    bad = _proc("runs", "clean", str(tmp_path), "--older-than", "soon")
    assert bad.returncode == 1 and bad.stderr.startswith("error: --older-than 'soon'")
    assert len(bad.stderr.splitlines()) == 1

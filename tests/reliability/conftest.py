"""Shared pieces of the reliability suite: the CLI run in-process, a tiny finished run, and a
folder made read-only for real (a read-only bind mount as root, permission bits otherwise)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

WORDS = {"a": "card charge fee bank", "b": "loan mortgage rate house", "c": "phone debt collector"}


def write_csv(path: Path, n: int = 90, seed: int = 0) -> Path:
    """A small three-class CSV (text,label) that TF-IDF learns in a second."""
    rng = random.Random(seed)
    lines = ["text,label"]
    for _ in range(n):
        label = rng.choice("aabc")
        lines.append(" ".join(rng.choice(WORDS[label].split()) for _ in range(6)) + f",{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(monkeypatch, capsys, *args, cwd: Path | None = None):
    """``tailtune ARGS`` in this process: (exit code, stdout, stderr)."""
    from tailtune import cli as tailtune_cli

    if cwd is not None:
        monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["tailtune", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as info:
        tailtune_cli.main()
    out, err = capsys.readouterr()
    return info.value.code, out, err


def one_line(code, out, err, *fragments):
    """Exit 1, no traceback, exactly one ``error:`` line on stderr holding every fragment."""
    assert code == 1, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory):
    """A finished TF-IDF run (its data file beside its runs folder)."""
    from tailtune.config import load_config
    from tailtune.workflow import train

    root = tmp_path_factory.mktemp("run")
    data = write_csv(root / "d.csv")
    cfg = load_config(
        None,
        ["model.backend=tfidf", f"data.path={json.dumps(str(data))}", f"runs_dir={root / 'runs'}"],
    )
    return train(cfg, quiet=True)


@pytest.fixture
def read_only():
    """``read_only(folder)`` makes ``folder`` read-only until the test ends.

    As root a read-only bind mount (permission bits do not stop root; EROFS does); otherwise the
    write bits are removed. Skipped where neither holds.
    """
    undo = []

    def make(folder: Path) -> Path:
        folder = Path(folder)
        if os.geteuid() == 0:
            r = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
            if r.returncode != 0:
                pytest.skip(f"cannot bind-mount here: {r.stderr.decode(errors='replace')}")
            undo.append(lambda: subprocess.run(["umount", str(folder)], capture_output=True))
            r = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True)
            if r.returncode != 0:
                pytest.skip(f"cannot remount read-only: {r.stderr.decode(errors='replace')}")
        else:
            modes = [(p, p.stat().st_mode) for p in [folder, *folder.rglob("*")] if p.is_dir()]
            for p, mode in modes:
                p.chmod(mode & ~0o222)
            undo.append(lambda: [p.chmod(mode) for p, mode in reversed(modes)])
        return folder

    yield make
    for fn in reversed(undo):
        fn()

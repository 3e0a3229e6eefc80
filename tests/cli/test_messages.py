"""Every user-facing message prints literally: square brackets are text, never rich markup."""

import os
import subprocess
import sys

import pytest

from tailtune import cli
from tailtune.errors import MissingExtraError, TailtuneError

pytestmark = pytest.mark.unit

MESSAGE = "pip install 'tailtune[neural]' then retry [bold]now[/bold]"


def test_main_prints_an_error_with_brackets_literally(monkeypatch, capsys):
    def fails():
        raise TailtuneError(MESSAGE)

    monkeypatch.setattr(cli, "app", fails)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"error: {MESSAGE}\n"


def test_a_multi_line_error_is_one_line(monkeypatch, capsys):
    def fails():
        raise MissingExtraError("first [neural]\nsecond")

    monkeypatch.setattr(cli, "app", fails)
    with pytest.raises(SystemExit):
        cli.main()
    assert capsys.readouterr().err == "error: first [neural] second\n"


def test_a_warning_of_tailtunes_is_one_warning_line(monkeypatch, capsys):
    import warnings

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after
    cli.own_warnings()
    where = os.path.join("x", "tailtune", "workflow", "prepare.py")
    warnings.warn_explicit("data.val_path: 1 label(s) never seen [a]", UserWarning, where, 120)
    warnings.warn_explicit("from elsewhere", UserWarning, os.path.join("x", "numpy.py"), 7)
    err = capsys.readouterr().err
    assert err == "warning: data.val_path: 1 label(s) never seen [a]\n"  # no source line
    # another library's warning goes to Python's own display (here, pytest's recorder)


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tailtune", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.integration
def test_missing_extra_names_the_extra_in_brackets(tmp_path):
    """`calc lora` without transformers: the install line keeps its `[neural]`."""
    blocked = tmp_path / "blocked" / "transformers"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('not installed in this test')\n")
    path = os.pathsep.join([str(tmp_path / "blocked"), os.environ.get("PYTHONPATH", "")])
    res = _run("calc", "lora", "--model", "smollm2", env={"PYTHONPATH": path})
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: transformers is needed")
    assert "pip install 'tailtune[neural]'" in lines[0]


@pytest.mark.integration
def test_file_names_and_labels_with_brackets_print_literally(tmp_path):
    data = tmp_path / "[neural].csv"
    data.write_text("text,label\nhello,[bold]a\n,b\nworld,[bold]a\nagain,[red]b[/red]\n")
    res = _run("data", "stats", str(data))
    assert res.returncode == 0, res.stderr
    assert "[neural].csv:3" in res.stdout  # the removed row, by file and line
    assert '"[bold]a": 2' in res.stdout and '"[red]b[/red]": 1' in res.stdout
    res = _run("train", str(tmp_path / "[bold]x.yaml"))
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {tmp_path / '[bold]x.yaml'}: config file not found"


@pytest.mark.integration
def test_train_refuses_a_setting_the_backend_cannot_use(tmp_path):
    runs = tmp_path / "runs"
    res = _run(
        "train", "-q", "--set", "data.synthetic=tiny", "--set", "objective.loss=focal",
        "--set", f"runs_dir={runs}",
    )  # fmt: skip
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "error: objective.loss=focal: the tfidf backend does not use it; it applies to "
        "embedding_head, encoder, decoder_lora. Remove it, or choose such a backend"
    )
    assert not runs.exists()  # refused before any work: no run folder, no index

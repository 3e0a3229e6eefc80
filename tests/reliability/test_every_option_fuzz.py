"""Generated hostile values at every option of every command: exit 1 or 2, no traceback, one
``error:`` line for exit 1, nothing created.

The commands and their options are read from the CLI itself, so a new option is covered the day
it is added. Each command gets paths that do not exist for its arguments (it must fail, and in
one line, whatever the option did); hypothesis draws the option's value from numbers out of any
range, non-finite numbers, empty and NUL-holding strings, folders, missing and binary files.
"""

from __future__ import annotations

import sys

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tailtune import cli  # noqa: E402

pytestmark = pytest.mark.unit

# commands that do real work with no argument at all (they are covered by their own tests)
SKIP = {("quickstart",), ("data", "synth")}


def _commands():
    import typer.main

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*path, name))
        elif path not in SKIP:
            yield path, cmd

    out = []
    for path, cmd in walk(typer.main.get_command(cli.app), ()):
        args = [p for p in cmd.params if p.param_type_name == "argument"]
        for p in cmd.params:
            if p.param_type_name == "option" and not p.is_flag and p.opts[0] != "--help":
                out.append((path, len(args), p.opts[0]))
    return out


CASES = _commands()

VALUES = st.one_of(
    st.sampled_from(["-1", "0", "-99999999999", "1e309", "nan", "inf", "-inf", "", " ", "zzz"]),
    st.integers(min_value=-(10**18), max_value=10**18).map(str),
    st.sampled_from(["{dir}", "{missing}", "{binary}", "{file}", "a\x00b", "../../..", "-"]),
    st.text(min_size=1, max_size=12),
)


def test_every_command_is_covered():
    commands = {c for c, _, _ in CASES}
    assert len(commands) >= 24 and ("serve",) in commands and ("runs", "list") in commands
    assert len(CASES) >= 100


@pytest.mark.parametrize(("command", "n_args", "option"), CASES,
                         ids=[" ".join(c) + " " + o for c, _, o in CASES])  # fmt: skip
def test_hostile_values(monkeypatch, capsys, tmp_path_factory, command, n_args, option):
    @settings(max_examples=6, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(VALUES)
    def check(value):
        work = tmp_path_factory.mktemp("fuzz")
        (work / "a-folder").mkdir()
        (work / "binary.bin").write_bytes(bytes(range(256)))
        (work / "plain.txt").write_text("text,label\nx,a\n")
        before = sorted(work.rglob("*"))
        value = value.format(dir=work / "a-folder", missing=work / "missing.csv",
                             binary=work / "binary.bin", file=work / "plain.txt")  # fmt: skip
        args = [str(work / f"no-such-{i}") for i in range(n_args)]
        monkeypatch.chdir(work)
        monkeypatch.setattr(sys, "argv", ["tailtune", *command, *args, option, value])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as info:
            cli.main()
        out, err = capsys.readouterr()
        code = info.value.code
        assert code in (1, 2), (command, option, value, code, out, err)
        assert "Traceback" not in out + err, (command, option, value, err)
        if code == 1:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:"), (command, option, err)
        assert sorted(work.rglob("*")) == before, (command, option, value)

    check()

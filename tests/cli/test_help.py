"""Every command's --help: its one-line summary, whole, and an Examples section."""

import pytest
import typer
from typer.testing import CliRunner

from tailtune.cli import app

pytestmark = pytest.mark.unit

runner = CliRunner()


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (typer may vendor its own click classes)
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


ROOT = typer.main.get_command(app)
COMMANDS = sorted(_commands(ROOT))


def test_the_top_level_lists_every_command_in_order():
    res = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    panel = res.output.split("─ Commands ─")[1].split("╰")[0].splitlines()[1:]
    listed = [line.split()[1] for line in panel if line[2] != " "]  # not a wrapped description
    expected = [
        "quickstart", "train", "evaluate", "predict", "add-class", "diagnose", "noise", "errors", "report",
        "advise", "data", "config", "runs", "experiment", "calc", "export", "serve", "sweep",
        "track",
    ]  # fmt: skip
    assert listed == expected  # a new command is added here, where its place in the list is seen
    assert sorted(ROOT.commands) == sorted(expected)  # and nothing registered is hidden


GROUPS = [()] + sorted({path[:-1] for path, _ in COMMANDS if len(path) > 1})


@pytest.mark.parametrize("path", GROUPS, ids=[" ".join(p) or "tailtune" for p in GROUPS])
def test_each_command_is_one_line_at_80_columns(path):
    """Command lists stay scannable: a long summary needs a ``short_help=``."""
    res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    panel = res.output.split("─ Commands ─")[1].split("╰")[0].splitlines()[1:]
    names = [line[2:].split(" ", 1)[0] for line in panel]
    assert all(names), "a command's description wraps:\n" + "\n".join(panel)


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_shows_the_summary_and_examples(path, cmd):
    res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    summary = " ".join(cmd.help.strip().splitlines()[0].split())
    assert summary in " ".join(res.output.split()), "rich markup ate part of the summary"
    assert "Examples:" in res.output
    examples = res.output.split("Examples:")[1]
    assert f"tailtune {' '.join(path)}" in examples


EXAMPLES = [(path, line) for path, cmd in COMMANDS for line in (cmd.epilog or "").splitlines()[1:]]


@pytest.mark.parametrize("path, line", EXAMPLES, ids=[line for _, line in EXAMPLES])
def test_every_example_parses(path, line):
    """An example names the command it documents and only options that exist, with valid values."""
    import shlex

    argv = shlex.split(line)
    argv = argv[: argv.index(">")] if ">" in argv else argv  # a shell redirection
    assert argv[0] == "tailtune" and tuple(argv[1 : 1 + len(path)]) == path, line
    cmd = dict(COMMANDS)[path]
    ctx = cmd.make_context(" ".join(path), argv[1 + len(path) :])  # raises on a bad option
    assert ctx.params

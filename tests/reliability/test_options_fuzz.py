"""Generated out-of-range values for the options the validation layer covers: one line, exit 1.

Covers the numeric options checked by ``tailtune.cli._options`` (not yet every option of every
command). Each case runs the real CLI entry point with a run path that does not exist, so a
value that slipped past the checks would fail differently (and be caught here).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tailtune import cli  # noqa: E402

pytestmark = pytest.mark.unit

# (command, option, strategy of values the option must refuse)
BAD = [
    ("predict", "--top-k", st.integers(max_value=0)),
    ("noise", "--n-boot", st.one_of(st.integers(max_value=1), st.integers(min_value=100_001))),
    ("noise", "--seed", st.integers(max_value=-1)),
    ("report", "--n-boot", st.integers(max_value=1)),
    ("errors", "--top", st.integers(max_value=0)),
    ("errors", "--hard", st.integers(max_value=-1)),
    ("serve", "--port", st.one_of(st.integers(max_value=-1), st.integers(min_value=65536))),
    ("serve", "--workers", st.integers(max_value=0)),
    ("serve", "--max-wait-ms", st.sampled_from(["nan", "inf", "-inf", "-0.5"])),
    ("advise", "--workers", st.integers(max_value=0)),
    ("advise", "--seeds", st.integers(max_value=-1)),
]


@pytest.mark.parametrize(("command", "option", "values"), BAD, ids=[f"{c} {o}" for c, o, _ in BAD])
def test_generated_bad_values_fail_in_one_line(monkeypatch, capsys, command, option, values):
    @settings(max_examples=8, deadline=None, derandomize=True)
    @given(values)
    def check(value):
        with tempfile.TemporaryDirectory() as tmp:
            args = ["tailtune", command, str(Path(tmp) / "no-run")]
            if command == "predict":
                args += ["--text", "x"]
            monkeypatch.setattr(sys, "argv", [*args, option, str(value)])
            with pytest.raises(SystemExit) as info:
                cli.main()
            out, err = capsys.readouterr()
            assert info.value.code == 1, out + err
            assert "Traceback" not in out + err
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: {option} "), err
            assert list(Path(tmp).iterdir()) == []  # nothing created

    check()

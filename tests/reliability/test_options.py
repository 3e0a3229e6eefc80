"""Command options are checked in one place: one line naming the option, exit 1, no work done."""

from __future__ import annotations

import sys

import pytest

from tailtune import cli
from tailtune.cli._options import check_float, check_int, check_output, check_port
from tailtune.errors import TailtuneError

pytestmark = pytest.mark.unit


def _main(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["tailtune", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        cli.main()
    out, err = capsys.readouterr()
    return info.value.code, out, err


def _one_line(code, out, err, *fragments):
    assert code == 1, out + err
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_check_int_bounds():
    assert check_int("--k", 1, 1) == 1
    assert check_int("--k", None, 1) is None
    with pytest.raises(TailtuneError, match=r"^--k 0: expected a value >= 1$"):
        check_int("--k", 0, 1)
    with pytest.raises(TailtuneError, match=r"^--n 7: expected a value from 2 to 5$"):
        check_int("--n", 7, 2, 5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_check_float_refuses_non_finite(bad):
    with pytest.raises(TailtuneError, match="expected a finite number"):
        check_float("--epochs", bad, 0)


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_check_port(port):
    with pytest.raises(TailtuneError, match=f"--port {port}: expected a value from 0 to 65535"):
        check_port("--port", port)


def test_check_output_policy(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text\nx\n", encoding="utf-8")
    with pytest.raises(TailtuneError, match="is also an input"):
        check_output("--output", src, inputs=[src], force=True)  # not even with --force
    out = tmp_path / "out.csv"
    assert check_output("--output", out, inputs=[src]) == out
    out.write_text("old", encoding="utf-8")
    with pytest.raises(TailtuneError, match="already exists; add --force"):
        check_output("--output", out)
    assert check_output("--output", out, force=True) == out


@pytest.mark.parametrize("k", ["0", "-1", "-70"])
def test_predict_top_k_below_one(monkeypatch, capsys, tmp_path, k):
    code, out, err = _main(monkeypatch, capsys, "predict", tmp_path / "no-run", "--text", "x",
                           "--top-k", k)  # fmt: skip
    _one_line(code, out, err, f"--top-k {k}", ">= 1")


def test_predict_never_writes_over_its_input(monkeypatch, capsys, tmp_path):
    src = tmp_path / "same.csv"
    src.write_text("text\nhello\n", encoding="utf-8")
    code, out, err = _main(monkeypatch, capsys, "predict", tmp_path / "no-run", "--input", src,
                           "--output", src, "--force")  # fmt: skip
    _one_line(code, out, err, "is also an input")
    assert src.read_text(encoding="utf-8") == "text\nhello\n"


def test_report_refuses_an_existing_file_without_force(monkeypatch, capsys, tmp_path):
    out_file = tmp_path / "r.html"
    out_file.write_text("mine", encoding="utf-8")
    code, out, err = _main(monkeypatch, capsys, "report", tmp_path / "no-run", "-o", out_file)
    _one_line(code, out, err, "already exists; add --force")
    assert out_file.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("opt", "value"), [("--n-boot", "-1"), ("--n-boot", "0"),
                                            ("--n-boot", "1"), ("--n-boot", "1000000000"),
                                            ("--seed", "-1")])  # fmt: skip
def test_noise_options(monkeypatch, capsys, tmp_path, opt, value):
    code, out, err = _main(monkeypatch, capsys, "noise", tmp_path / "no-run", opt, value)
    _one_line(code, out, err, f"{opt} {value}: expected")


@pytest.mark.parametrize(("opt", "value"), [("--top", "-5"), ("--top", "0"), ("--hard", "-5")])
def test_errors_counts(monkeypatch, capsys, tmp_path, opt, value):
    code, out, err = _main(monkeypatch, capsys, "errors", tmp_path / "no-run", opt, value)
    _one_line(code, out, err, f"{opt} {value}: expected")


def test_errors_confusion_csv_into_a_folder_or_read_only(monkeypatch, capsys, tmp_path):
    code, out, err = _main(monkeypatch, capsys, "errors", tmp_path / "no-run",
                           "--confusion-csv", tmp_path)  # fmt: skip
    _one_line(code, out, err, "--confusion-csv", "is a folder")


@pytest.mark.parametrize(("opt", "value"), [("--port", "-1"), ("--port", "70000"),
                                            ("--workers", "0"), ("--max-wait-ms", "nan"),
                                            ("--max-texts", "0")])  # fmt: skip
def test_serve_options_fail_before_serving(monkeypatch, capsys, tmp_path, opt, value):
    code, out, err = _main(monkeypatch, capsys, "serve", tmp_path / "no-run", opt, value)
    _one_line(code, out, err, f"{opt} {value}: expected")
    assert "serving" not in out


@pytest.mark.parametrize(("opt", "value"), [("--seeds", "-1"), ("--workers", "-2")])
def test_advise_options(monkeypatch, capsys, tmp_path, opt, value):
    code, out, err = _main(monkeypatch, capsys, "advise", tmp_path / "no-run", opt, value)
    _one_line(code, out, err, f"{opt} {value}: expected")


def test_data_stats_negative_skip_rows(monkeypatch, capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,x\n", encoding="utf-8")
    code, out, err = _main(monkeypatch, capsys, "data", "stats", data, "--skip-rows", "-3")
    _one_line(code, out, err, "--skip-rows -3: expected a value >= 0")


def test_runs_list_negative_limit(monkeypatch, capsys, tmp_path):
    code, out, err = _main(monkeypatch, capsys, "runs", "list", tmp_path,
                           "--limit", "-1")  # fmt: skip
    _one_line(code, out, err, "--limit -1: expected a value >= 1")
    assert list(tmp_path.iterdir()) == []  # nothing created

"""Progress without a terminal: plain lines on stderr (each evaluation, every N seconds) and
train.log in the finished run; a rich bar only where stderr is a terminal."""

from __future__ import annotations

import io
import json
import re

import pytest

from tailtune.training.progress import Progress, format_duration, progress_line

STEP_LINE = re.compile(r"^step (\d+)/(\d+) epoch [\d.]+ loss [\d.]+ [\d.]+ ex/s ETA \d+:\d\d:\d\d$")
EVAL_LINE = re.compile(r"^eval step (\d+)/(\d+) epoch [\d.]+ loss [\d.]+ .* macro_f1 [\d.]+$")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_lines_every_n_seconds_and_at_each_evaluation(tmp_path):
    clock, out = Clock(), io.StringIO()  # StringIO is no terminal
    log = tmp_path / "train.log"
    with Progress(100, enabled=True, log_every_s=30, log_file=log, stream=out, clock=clock) as p:
        for step in range(1, 11):
            clock.now += 10.0  # 10 s a step: a timed line every third step
            p.update(step, step / 20, 1.0 / step, 8.0)
            if step == 5:
                p.evaluation({"step": 5, "epoch": 0.25, "train_loss": 0.5, "macro_f1": 0.42})
    lines = out.getvalue().splitlines()
    # a line at 30 s (step 3), the evaluation at 50 s, then 30 s after it (step 8)
    assert [line.split()[:2] for line in lines] == [["step", "3/100"], ["eval", "step"],
                                                    ["step", "8/100"]]  # fmt: skip
    # step 3 at 10 s/step: 97 steps left = 970 s
    assert lines[0] == "step 3/100 epoch 0.15 loss 0.3333 8.0 ex/s ETA 0:16:10"
    eval_line = lines[1]  # 95 steps left at 10 s each
    assert (
        eval_line == "eval step 5/100 epoch 0.25 loss 0.5000 8.0 ex/s ETA 0:15:50 macro_f1 0.4200"
    )
    assert STEP_LINE.match(lines[0]) and EVAL_LINE.match(eval_line)
    logged = log.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in logged] == lines  # timestamped, same text


def test_eta_is_capped_by_the_time_budget_left():
    clock = Clock()
    p = Progress(100, enabled=False, clock=clock, time_left=lambda: 60.0)
    clock.now = 10.0
    assert p.eta_s(10) == pytest.approx(60.0)  # 90 s at this pace, 60 s of budget left
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "-:--:--"


def test_disabled_progress_writes_train_log_only(tmp_path):
    out = io.StringIO()
    with Progress(4, enabled=False, log_file=tmp_path / "t.log", stream=out) as p:
        p.evaluation({"step": 2, "epoch": 1.0, "train_loss": 0.3})
    assert out.getvalue() == ""
    assert "eval step 2/4 epoch 1.00 loss 0.3000" in (tmp_path / "t.log").read_text()


def test_a_terminal_gets_the_bar_and_no_plain_lines(tmp_path):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    with Progress(4, enabled=True, log_every_s=0.001, log_file=tmp_path / "t.log", stream=out) as p:
        assert p._bar is not None
        p.update(1, 0.25, 0.7, 3.0)
        p.evaluation({"step": 1, "epoch": 0.25, "train_loss": 0.7})
    assert "eval step" not in out.getvalue()
    assert "eval step 1/4" in (tmp_path / "t.log").read_text()


def test_progress_line_format():
    line = progress_line(7, 20, 1.5, 0.25, 12.34, 65.0)
    assert line == "step 7/20 epoch 1.50 loss 0.2500 12.3 ex/s ETA 0:01:05"


@pytest.mark.integration
def test_training_without_a_terminal_prints_lines_and_keeps_train_log(
    tiny_bert_dir, tmp_path, capsys
):
    pytest.importorskip("torch")
    from tailtune.config import config_from_dict
    from tailtune.runs import layout
    from tailtune.workflow import train

    cfg = config_from_dict(
        {
            "name": "plain",
            "seed": 3,
            "data": {"synthetic": "tiny"},
            "split": {"val": 0.15},
            "model": {"backend": "encoder", "name": tiny_bert_dir, "max_length": 32},
            "train": {"max_steps": 6, "batch_size": 16, "eval_every": 3, "lr": 1e-3,
                      "patience": None, "num_threads": 1, "device": "cpu",
                      "log_every_s": 0.001},
        }
    )  # fmt: skip
    path = train(cfg, runs_dir=tmp_path / "runs")
    err = capsys.readouterr().err.splitlines()
    evals = [line for line in err if line.startswith("eval step")]
    assert [EVAL_LINE.match(line).group(1) for line in evals] == ["3", "6"]
    steps = [line for line in err if STEP_LINE.match(line)]
    assert len(steps) >= 5 and steps[0].startswith("step 1/6 ")  # every step at 1 ms
    logged = (path / layout.TRAIN_LOG).read_text().splitlines()
    history = [json.loads(x) for x in (path / layout.HISTORY).read_text().splitlines()]
    logged_evals = [line.split(" ", 2)[2] for line in logged if " eval step " in line]
    assert logged_evals == evals and [h["step"] for h in history] == [3, 6]
    assert any(" step 6/6 " in line for line in logged)
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]

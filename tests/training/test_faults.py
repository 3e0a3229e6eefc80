"""Fault injection with real processes: kill -9, SIGTERM and Ctrl-C at chosen moments, then resume.

Each case trains a tiny BERT fine-tune (the encoder backend through ``workflow.train``) in a
child process that harms itself at a deterministic point (``TAILTUNE_FAULT``, read by
``training.checkpoints.fault_point``): SIGKILL right after a checkpoint, between two micro-batches
of a step, or half-way through writing a checkpoint; SIGTERM and SIGINT after a step. The run is
then resumed in a new process, until it finishes, and its history, metrics, predictions and
probabilities must equal those of one uninterrupted run exactly.

Children are forked from one zygote process (``fault_zygote.py``) that imported torch and
transformers once, so each case costs its training time, not a minute of imports.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tailtune.runs import read_run  # noqa: E402
from tailtune.runs.writer import in_progress  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.skipif(sys.platform == "win32", reason="fork")]

ROOT = Path(__file__).resolve().parents[2]
TIMING = {"train_s", "time_per_step_s", "examples_per_s", "tokens_per_s"}
COUNTS = {"cases": 0, "kills": 0, "terms": 0, "ints": 0, "resumes": 0, "compared": 0}


class Zygote:
    """The fork server: one command in, one exit status out."""

    def __init__(self, tmp: Path):
        env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "OMP_NUM_THREADS": "1"}
        env.pop("TAILTUNE_FAULT", None)
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/training/fault_zygote.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp,
        )
        self.n = 0
        assert "ready" in self._answer(600)

    def _answer(self, timeout: float) -> dict:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            self.proc.kill()
            raise AssertionError("the zygote did not answer")
        return json.loads(self.proc.stdout.readline())

    def run(self, **cmd) -> tuple[dict, str]:
        self.n += 1
        cmd["log"] = str(self.tmp / f"child-{self.n}.log")
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        answer = self._answer(600)
        return answer, Path(cmd["log"]).read_text(encoding="utf-8")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()
    print(f"\nfault-injection figures: {COUNTS}")


def config(model_dir: str) -> dict:
    """18 optimizer steps of 2 micro-batches; an evaluation and a checkpoint every 4 steps."""
    return {
        "name": "faulty",
        "seed": 5,
        "data": {"synthetic": "tiny"},
        "split": {"val": 0.15, "test": 0.1},
        "model": {"backend": "encoder", "name": model_dir, "max_length": 32},
        "train": {
            "epochs": 2,
            "batch_size": 16,
            "grad_accum": 2,
            "eval_every": 4,
            "lr": 1e-3,
            "patience": None,
            "keep_checkpoints": 2,
            "num_threads": 1,
            "device": "cpu",
        },
    }


@pytest.fixture(scope="module")
def reference(zygote, tiny_bert_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("reference")
    answer, log = zygote.run(action="train", config=config(tiny_bert_dir), runs_dir=str(runs))
    assert answer["exit"] == 0, log
    (path,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return read_run(path)


def unfinished(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.name.startswith((".tmp-", ".interrupted-")))


def die(zygote, tiny_bert_dir, runs: Path, fault: str, *, first: bool) -> tuple[dict, str]:
    """One training session that ``fault`` ends; a fresh run first, a resume afterwards."""
    cfg = config(tiny_bert_dir)
    if first:
        answer, log = zygote.run(action="train", config=cfg, runs_dir=str(runs), fault=fault)
    else:
        answer, log = zygote.run(action="resume", name="faulty", runs_dir=str(runs), fault=fault)
        COUNTS["resumes"] += 1
    kind = fault.split("@")[0]
    COUNTS[{"kill": "kills", "term": "terms", "int": "ints"}[kind]] += 1
    expected = {"kill": (137, 9), "term": (143, None), "int": (130, None)}[kind]
    assert (answer["exit"], answer["signal"]) == expected, log
    (folder,) = unfinished(runs)
    assert not in_progress(folder)  # the dead process holds nothing: resumable
    return answer, log


def finish(zygote, tiny_bert_dir, runs: Path, *, via_flag: bool = False) -> tuple[Path, str]:
    if via_flag:  # the same command again with train.resume=true
        cfg = config(tiny_bert_dir)
        cfg["train"]["resume"] = True
        answer, log = zygote.run(action="train", config=cfg, runs_dir=str(runs))
    else:
        answer, log = zygote.run(action="resume", name="faulty", runs_dir=str(runs))
    COUNTS["resumes"] += 1
    assert answer["exit"] == 0, log
    assert unfinished(runs) == []
    (path,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return path, log


def assert_same(run, reference) -> None:
    """History, metrics, predictions and probabilities equal the uninterrupted run's."""
    strip = lambda h: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in h]  # noqa: E731
    assert strip(run.history) == strip(reference.history)
    assert run.metrics["val"] == reference.metrics["val"]
    assert run.metrics["test"] == reference.metrics["test"]
    info = {k: v for k, v in run.metrics["info"].items() if k not in TIMING}
    assert info == {k: v for k, v in reference.metrics["info"].items() if k not in TIMING}
    pd.testing.assert_frame_equal(run.predictions, reference.predictions)
    for split in ("val", "test"):
        np.testing.assert_array_equal(
            run.probabilities(split)[1], reference.probabilities(split)[1]
        )
    assert run.config["train"]["resume"] is False and run.config["name"] == "faulty"
    COUNTS["compared"] += 1


def resumed_step(log: str) -> int:
    line = next(x for x in log.splitlines() if x.startswith("resuming from") and "step-" in x)
    return int(line.split("step-")[1][:6])


def test_kill_at_a_checkpoint_boundary(zygote, tiny_bert_dir, reference, tmp_path):
    COUNTS["cases"] += 1
    die(zygote, tiny_bert_dir, tmp_path, "kill@checkpoint-written:8", first=True)
    path, log = finish(zygote, tiny_bert_dir, tmp_path)
    assert resumed_step(log) == 8
    assert_same(read_run(path), reference)


def test_kill_mid_step(zygote, tiny_bert_dir, reference, tmp_path):
    COUNTS["cases"] += 1
    die(zygote, tiny_bert_dir, tmp_path, "kill@mid-step:11", first=True)
    path, log = finish(zygote, tiny_bert_dir, tmp_path)
    assert resumed_step(log) == 8  # step 11 was half done; the newest checkpoint is step 8
    assert_same(read_run(path), reference)


def test_kill_during_a_checkpoint_write(zygote, tiny_bert_dir, reference, tmp_path):
    COUNTS["cases"] += 1
    die(zygote, tiny_bert_dir, tmp_path, "kill@checkpoint-writing:12", first=True)
    (folder,) = unfinished(tmp_path)
    ckpts = sorted(p.name for p in (folder / "checkpoints").iterdir())
    assert ckpts[0].startswith(".tmp-step-000012-")  # the half-written one, never renamed
    assert ckpts[1:] == ["best", "step-000004", "step-000008"]
    path, log = finish(zygote, tiny_bert_dir, tmp_path)
    assert resumed_step(log) == 8
    assert_same(read_run(path), reference)


def test_sigterm_saves_exits_143_and_resumes_with_the_flag(
    zygote, tiny_bert_dir, reference, tmp_path
):
    COUNTS["cases"] += 1
    _, log = die(zygote, tiny_bert_dir, tmp_path, "term@step:10", first=True)
    assert "training stopped by SIGTERM at step 10; a resumable checkpoint was saved" in log
    (folder,) = unfinished(tmp_path)
    assert folder.name.startswith(".interrupted-faulty-")
    path, log = finish(zygote, tiny_bert_dir, tmp_path, via_flag=True)
    assert resumed_step(log) == 10
    assert_same(read_run(path), reference)


def test_ctrl_c_saves_and_exits_130(zygote, tiny_bert_dir, reference, tmp_path):
    COUNTS["cases"] += 1
    die(zygote, tiny_bert_dir, tmp_path, "int@step:6", first=True)
    path, log = finish(zygote, tiny_bert_dir, tmp_path)
    assert resumed_step(log) == 6
    assert_same(read_run(path), reference)


def test_killed_twice_in_a_row_then_finished(zygote, tiny_bert_dir, reference, tmp_path):
    COUNTS["cases"] += 1
    die(zygote, tiny_bert_dir, tmp_path, "kill@mid-step:6", first=True)
    _, log = die(zygote, tiny_bert_dir, tmp_path, "kill@checkpoint-written:12", first=False)
    assert resumed_step(log) == 4
    (folder,) = unfinished(tmp_path)
    stamp = folder.name.split("faulty-")[1][:15]
    path, log = finish(zygote, tiny_bert_dir, tmp_path)
    assert resumed_step(log) == 12
    assert path.name == f"faulty-{stamp}"  # the run keeps its name through both deaths
    assert_same(read_run(path), reference)

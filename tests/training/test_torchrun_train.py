"""``torchrun --nproc_per_node 2 -m tailtune train CONFIG``: one run folder, owned by rank 0.

Two CPU processes (gloo) through the real launcher and the real console entry point, on a tiny
BERT built from a config and the toy task written to a CSV. Rank 0 creates the run folder and
broadcasts its path; rank 1 trains its half of every step there and writes nothing. With
dropout off and batches that are not length-grouped, the two processes' global batch is the
1-process batch of twice the size, so the metrics match a 1-process run with that batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tailtune.config import config_from_dict  # noqa: E402
from tailtune.runs import layout, read_run  # noqa: E402
from tests.training.tiny_models import make_tokenizer, tiny_config, toy_task  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="torchrun with gloo"),
]


@pytest.fixture(scope="module")
def tiny_bert_no_dropout(tmp_path_factory):
    """A tiny random BERT (dropout 0: the two launches draw no different masks) + tokenizer."""
    import torch
    from transformers import AutoModel

    path = tmp_path_factory.mktemp("tiny-bert-nodrop")
    tok = make_tokenizer()
    config = tiny_config("bert", len(tok))
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def write_task(folder: Path) -> None:
    import pandas as pd

    texts, labels = toy_task(200, 0)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / "train.csv", index=False)
    texts, labels = toy_task(40, 7)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / "test.csv", index=False)


def config(model_dir: str, backend: str, batch_size: int, test: bool) -> dict:
    cfg = {
        "name": f"ddp-{backend}",
        "seed": 3,
        "runs_dir": "runs",
        "data": {"path": "train.csv", **({"test_path": "test.csv"} if test else {})},
        "split": {"val": 0.2},
        "model": {"backend": backend, "name": model_dir, "max_length": 32,
                  # only the head uses these settings; another backend refuses them
                  **({"embedding": {"dropout": 0.0}} if backend == "embedding_head" else {})},
        "train": {"epochs": 8, "batch_size": batch_size, "lr": 3e-3 if backend == "encoder" else 0.3,
                  "warmup_ratio": 0.1, "eval_every": 20, "patience": None,
                  "group_by_length": False, "num_threads": 1, "device": "cpu"},
    }  # fmt: skip
    return cfg


def torchrun(folder: Path, cfg: dict, fault: str | None = None) -> subprocess.CompletedProcess:
    (folder / "c.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TAILTUNE_CACHE": str(folder / "cache")}
    env.pop("TAILTUNE_FAULT", None)
    if fault:
        env["TAILTUNE_FAULT"] = fault
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "tailtune", "train", "c.yaml"]  # fmt: skip
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=240)


def one_process(folder: Path, cfg: dict, monkeypatch) -> Path:
    from tailtune.workflow import train

    monkeypatch.setenv("TAILTUNE_CACHE", str(folder / "cache"))
    monkeypatch.chdir(folder)
    return train(config_from_dict(cfg), runs_dir=folder / "runs1")


@pytest.mark.parametrize(("backend", "test"), [("encoder", False), ("embedding_head", True)])
def test_two_processes_write_one_run_equal_to_a_one_process_run(
    tiny_bert_no_dropout, tmp_path, monkeypatch, backend, test
):
    write_task(tmp_path)
    proc = torchrun(tmp_path, config(tiny_bert_no_dropout, backend, 8, test))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    entries = sorted((tmp_path / "runs").iterdir())
    folders = [p for p in entries if p.is_dir()]
    assert len(folders) == 1 and not folders[0].name.startswith("."), entries
    assert [p.name for p in entries if not p.is_dir()] == ["index.db"]
    # rank 1 printed nothing of the run: one log line, one summary
    assert proc.stdout.count("run written to") == 1 and proc.stdout.count("run: runs/") == 1
    run = read_run(folders[0])
    info = run.metrics["info"]
    assert info["processes"] == 2
    assert (folders[0] / layout.TRAIN_LOG).is_file() and (folders[0] / layout.PREDICTIONS).is_file()
    # 160 training rows, 8 per process per step: 10 steps an epoch
    assert [h["step"] for h in run.history] == [20, 40, 60, 80]

    single = read_run(
        one_process(tmp_path, config(tiny_bert_no_dropout, backend, 16, test), monkeypatch)
    )
    assert single.metrics["info"]["processes"] == 1
    assert [h["step"] for h in single.history] == [20, 40, 60, 80]
    for two, one in zip(run.history, single.history, strict=True):
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4, abs=1e-5)
        assert two["val_loss"] == pytest.approx(one["val_loss"], rel=1e-4, abs=1e-5)
        assert two["macro_f1"] == pytest.approx(one["macro_f1"], abs=1e-9)
    for split in ("val", "test") if test else ("val",):
        assert run.metrics[split]["macro_f1"] == pytest.approx(single.metrics[split]["macro_f1"])
    # it learned the toy task (1.0 and 0.53 at these settings; the head sits on random embeddings)
    assert run.metrics["val"]["macro_f1"] > (0.8 if backend == "encoder" else 0.4)
    if test:  # refit on train + validation ran under both launches
        assert run.metrics["refit"]["enabled"] and single.metrics["refit"]["enabled"]
    json.dumps(info)  # plain data


def test_a_time_budget_stops_both_processes_at_the_same_step(tiny_bert_no_dropout, tmp_path):
    """Each process reads its own clock; the stop must be agreed (one all-reduce a step) or the
    process that stops first leaves the other waiting in an all-reduce for ever."""
    write_task(tmp_path)
    cfg = config(tiny_bert_no_dropout, "encoder", 8, False)
    cfg["train"].update(epochs=200, eval_every=5, time_budget="4s")  # 2,000 steps: never reached
    proc = torchrun(tmp_path, cfg)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    (folder,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    run = read_run(folder)
    info = run.metrics["info"]
    said = proc.stdout[-2000:] + proc.stderr[-2000:]
    assert info["processes"] == 2 and info["stop_reason"] == "time_budget", (info, said)
    assert "time budget 4s spent" in proc.stdout + proc.stderr, said
    assert run.history and 0 < run.history[-1]["step"] < 2000, (run.history, said)
    assert (folder / layout.MODEL).is_dir()


@pytest.mark.slow
def test_two_processes_train_a_decoder_with_lora_into_one_run(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config

    tok = make_tokenizer()
    torch.manual_seed(0)
    gpt2 = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2, n_positions=64)
    AutoModelForCausalLM.from_config(gpt2).save_pretrained(tmp_path / "gpt2")
    tok.save_pretrained(tmp_path / "gpt2")
    write_task(tmp_path)
    cfg = config(str(tmp_path / "gpt2"), "decoder_lora", 8, False)
    cfg["model"].pop("embedding")
    cfg["train"].update(epochs=2, eval_every=10, lr=3e-3)
    proc = torchrun(tmp_path, cfg)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    entries = sorted((tmp_path / "runs").iterdir())
    folders = [p for p in entries if p.is_dir()]
    assert len(folders) == 1 and not folders[0].name.startswith("."), entries
    run = read_run(folders[0])
    assert run.metrics["info"]["processes"] == 2
    assert [h["step"] for h in run.history] == [10, 20]
    assert run.history[-1]["train_loss"] < run.history[0]["train_loss"]


@pytest.mark.slow
def test_a_run_stopped_under_torchrun_resumes_under_torchrun(tiny_bert_no_dropout, tmp_path):
    write_task(tmp_path)
    cfg = config(tiny_bert_no_dropout, "encoder", 8, False)
    cfg["train"].update(epochs=4)  # 40 steps
    # both processes get SIGTERM after step 25 (a checkpoint was saved at step 20)
    stopped = torchrun(tmp_path, cfg, fault="term@step:25")
    assert stopped.returncode != 0
    (left,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert left.name.startswith(".interrupted-"), left
    cfg["train"]["resume"] = True
    done = torchrun(tmp_path, cfg)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    (finished,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert not finished.name.startswith(".")
    assert "resuming from" in done.stdout
    assert [h["step"] for h in read_run(finished).history] == [20, 40]

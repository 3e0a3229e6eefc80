"""A full disk during a checkpoint: one line, the older checkpoint kept, nothing half carried on."""

from __future__ import annotations

import pytest

from tailtune.runs import layout
from tailtune.runs.writer import RunWriter
from tailtune.training import checkpoints as ckpt

pytestmark = pytest.mark.unit
torch = pytest.importorskip("torch")


def _save(root, step):
    return ckpt.save_resumable(
        root, step, model_state={"w": torch.zeros(3)}, trainer_state={"o": 1}, state={"s": step}
    )


def test_torch_runtime_error_on_full_disk_keeps_the_older_checkpoint(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root, 10)
    real_save = torch.save

    def full(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(ckpt.CheckpointError) as info:
        _save(root, 20)
    msg = str(info.value)
    assert "\n" not in msg and "step-000020" in msg and "step-000010 is kept" in msg
    assert "train.resume=true" in msg
    assert sorted(p.name for p in root.iterdir()) == ["step-000010"]


def test_other_runtime_errors_are_not_disguised_as_disk_errors(tmp_path, monkeypatch):
    def bug(*a, **k):
        raise RuntimeError("some other failure")

    monkeypatch.setattr(torch, "save", bug)
    with pytest.raises(RuntimeError, match="some other failure"):
        _save(tmp_path / "checkpoints", 5)
    assert list((tmp_path / "checkpoints").iterdir()) == []


def test_best_weights_on_full_disk_is_one_line(tmp_path, monkeypatch):
    def full(obj, f, *a, **k):
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(ckpt.TailtuneError, match=r"best\.pt: .*train\.resume=true"):
        ckpt.save_weights(tmp_path / "best.pt", {"w": torch.zeros(2)})
    assert list(tmp_path.iterdir()) == []


def test_half_checkpoint_is_not_carried_into_the_finished_run(tmp_path):
    with RunWriter(tmp_path, "demo", stamp="20260101-000000") as run:
        root = run.path(layout.CHECKPOINTS)
        root.mkdir(exist_ok=True)
        _save(root, 1)
        half = root / ".tmp-step-000002-999-1"  # what a kill -9 mid-write leaves behind
        half.mkdir()
        (half / layout.CKPT_MODEL).write_bytes(b"\0" * 100)
    done = run.final_path / layout.CHECKPOINTS
    assert sorted(p.name for p in done.iterdir()) == ["step-000001"]

"""Resume in-process: the loop state as data, interrupts at awkward moments, unusable checkpoints."""

import functools
import json
import os
import shutil
import signal

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from tailtune.objectives.losses import build_loss  # noqa: E402
from tailtune.training import (  # noqa: E402
    TrainingInterrupted,
    TrainSettings,
    fit_classifier,
    pad_collate,
    schedule,  # noqa: E402
)
from tailtune.training import checkpoints as ckpt  # noqa: E402
from tailtune.training.loop import LoopState  # noqa: E402
from tests.training.tiny_models import bag_model, toy_items  # noqa: E402

pytestmark = pytest.mark.integration

COLLATE = functools.partial(pad_collate, pad_id=0)


@pytest.fixture(scope="module")
def data():
    train, tok = toy_items(160, 0)
    val, _ = toy_items(80, 1)
    return train, val, len(tok)


def fit(data, work_dir, **kw):
    train, val, vocab = data
    base = dict(lr=2e-3, epochs=3, batch_size=8, eval_every=4, progress=False, patience=None,
                seed=3, num_threads=1)  # fmt: skip
    return fit_classifier(
        bag_model(vocab, 4, seed=0),
        train,
        collate=COLLATE,
        loss_fn=build_loss("ce"),
        num_classes=4,
        settings=TrainSettings(**{**base, **kw}),
        eval_items=val,
        work_dir=work_dir,
    )


def strip(history):
    return [{k: v for k, v in h.items() if k != "elapsed_s"} for h in history]


def test_loop_state_round_trips_through_json():
    state = LoopState(step=7, epoch=1, pos=3, loss_sum=2.5, loss_n=2, rng=ckpt.capture_rng())
    state.stopper.update(0.4, 4)
    state.history.append({"step": 4, "train_loss": 1.25})
    data = json.loads(json.dumps(state.state_dict()))  # plain data: no pickle needed
    again = LoopState()
    again.load_state_dict(data)
    assert (again.step, again.epoch, again.pos, again.loss_sum) == (7, 1, 3, 2.5)
    assert again.stopper.best == 0.4 and again.stopper.best_step == 4
    assert again.history == state.history
    assert torch.equal(again.rng["torch"], state.rng["torch"])
    ckpt.restore_rng(again.rng)
    a = torch.rand(3)
    ckpt.restore_rng(state.rng)
    assert torch.equal(a, torch.rand(3))


def test_ctrl_c_between_the_weight_update_and_the_step_count_resumes_exactly(data, tmp_path):
    """A KeyboardInterrupt inside scheduler.step() (weights already moved) must not be saved as
    the state of the previous step: the resume goes back to the last consistent checkpoint."""
    full = fit(data, tmp_path / "full")
    real = schedule.lr_factor

    def factor(step, *a):
        if step == 14:
            raise KeyboardInterrupt
        return real(step, *a)

    schedule.lr_factor = factor
    try:
        with pytest.raises(TrainingInterrupted, match="SIGINT at step 13"):
            fit(data, tmp_path / "cut")
    finally:
        schedule.lr_factor = real
    steps = [p.name for p in ckpt.find_checkpoints(tmp_path / "cut" / "checkpoints")]
    assert steps == ["step-000012"]  # nothing saved for the half-applied step 14
    resumed = fit(data, tmp_path / "cut", resume=True)
    assert strip(resumed.history) == strip(full.history)
    assert resumed.info["steps"] == full.info["steps"] == 60


EVERY_2 = dict(eval_every=2, keep_checkpoints=3)  # checkpoints at steps 2, 4, 6 ... (3 kept)


def _interrupt_at(data, work, step):
    """Train until a real SIGINT lands during optimizer step ``step``; it stops after it."""
    real, sent = schedule.lr_factor, []

    def factor(s, *a):
        # scheduler.step() of optimizer step ``step`` asks for lr_factor(step), once per group
        if s == step and not sent:
            sent.append(os.kill(os.getpid(), signal.SIGINT))
        return real(s, *a)

    schedule.lr_factor = factor
    try:
        with pytest.raises(TrainingInterrupted, match=f"SIGINT at step {step}; a resumable"):
            fit(data, work, **EVERY_2)
    finally:
        schedule.lr_factor = real


def _plant(checkpoint, name: str, body: bytes) -> None:
    """Replace one file of a checkpoint, fixing the size that state.json records for it."""
    (checkpoint / name).write_bytes(body)
    state = json.loads((checkpoint / "state.json").read_text())
    state["files"][name] = len(body)
    (checkpoint / "state.json").write_text(json.dumps(state))


def test_truncated_newest_checkpoint_is_skipped_for_the_one_before(data, tmp_path):
    full = fit(data, tmp_path / "full", **EVERY_2)
    work = tmp_path / "cut"
    _interrupt_at(data, work, step=10)
    newest = ckpt.find_checkpoints(work / "checkpoints")[0]
    assert newest.name == "step-000010"
    weights = newest / "model.pt"
    weights.write_bytes(weights.read_bytes()[:100])  # a disk that lost the end of the file
    with pytest.warns(UserWarning, match=r"skipping checkpoint: .*step-000010.*100 bytes"):
        resumed = fit(data, work, resume=True, **EVERY_2)
    assert strip(resumed.history) == strip(full.history)  # replayed from step 8


def test_a_pickle_planted_as_trainer_state_is_refused_and_never_run(data, tmp_path):
    work = tmp_path / "run"
    _interrupt_at(data, work, step=10)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"optimizer": Payload(), "scheduler": {}}, evil)  # a real torch file, with code
    checkpoints = ckpt.find_checkpoints(work / "checkpoints")
    _plant(checkpoints[0], "trainer.pt", evil.read_bytes())
    with pytest.warns(UserWarning, match=r"skipping checkpoint: .*step-000010.*not a usable"):
        fit(data, work, resume=True, **EVERY_2)  # goes on from step 8 instead
    assert not marker.exists()

    only = tmp_path / "only"
    _interrupt_at(data, only, step=10)
    for old in ckpt.find_checkpoints(only / "checkpoints")[1:]:
        shutil.rmtree(old)
    _plant(ckpt.find_checkpoints(only / "checkpoints")[0], "trainer.pt", evil.read_bytes())
    with pytest.warns(UserWarning), pytest.raises(ckpt.CheckpointError, match="no usable"):
        fit(data, only, resume=True, **EVERY_2)
    assert not marker.exists()
    torch.load(evil, weights_only=False)  # what a pickle-loading resume would have done
    assert marker.exists()


def test_full_disk_during_a_checkpoint_keeps_the_older_one(data, tmp_path, monkeypatch):
    full = fit(data, tmp_path / "full")
    work = tmp_path / "run"
    monkeypatch.setenv("TAILTUNE_FAULT", "enospc@checkpoint-writing:8")
    with pytest.raises(ckpt.CheckpointError, match=r"(?i)step-000008: no space left.*step-000004"):
        fit(data, work)
    monkeypatch.delenv("TAILTUNE_FAULT")
    names = sorted(p.name for p in (work / "checkpoints").iterdir())
    assert names == ["best", "step-000004"]  # the partial step-8 folder is gone
    resumed = fit(data, work, resume=True)
    assert strip(resumed.history) == strip(full.history)


def test_a_second_ctrl_c_stops_at_once():
    from tailtune.training.guards import StopSignals

    with pytest.raises(KeyboardInterrupt), StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGINT)
        assert signals.received == signal.SIGINT  # noted, not raised
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second SIGINT should have raised")

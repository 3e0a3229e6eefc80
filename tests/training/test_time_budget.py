"""``train.time_budget``: parsing, a run that stops when it is spent, and resume counting it."""

from __future__ import annotations

import functools
import json
import time

import pytest

from tailtune.config import load_config
from tailtune.errors import ConfigError
from tailtune.training.budget import parse_duration


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), (" 2.5m ", 150), (900, 900),
     (0.5, 0.5), ("45", 45), (None, None)],
)  # fmt: skip
def test_durations_parse_to_seconds(given, seconds):
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("bad", ["15x", "m", "0", "-3", "1d", "15 minutes", "", "inf"])
def test_a_bad_budget_is_one_line_naming_the_field_and_the_forms(bad):
    with pytest.raises(ConfigError) as err:
        load_config(None, [f"train.time_budget='{bad}'"])
    message = str(err.value)
    assert message.startswith("train.time_budget: got ") and "\n" not in message
    assert '"90s", "15m", "2h"' in message and "number of seconds" in message


def test_the_config_keeps_the_budget_as_written():
    assert load_config(None, ["train.time_budget=15m"]).train.time_budget == "15m"
    assert load_config(None, ["train.time_budget=600"]).train.time_budget == 600.0


def test_the_cpu_finetune_recipe_has_a_budget_and_a_larger_epoch_cap():
    from tailtune.config import recipe_path

    cfg = load_config(recipe_path("cpu-finetune"), ["data.synthetic=tiny"])
    assert parse_duration(cfg.train.time_budget) == 900 and cfg.train.epochs >= 10


# -- the loop --------------------------------------------------------------------------------


def _fit(tmp_path, sleep_s=0.0, interrupt_at=None, **kw):
    torch = pytest.importorskip("torch")
    pytest.importorskip("accelerate")
    from tailtune.objectives.losses import build_loss
    from tailtune.training import TrainSettings, fit_classifier, pad_collate
    from tests.training.tiny_models import bag_model, toy_items

    train, tok = toy_items(160, 0)
    val, _ = toy_items(80, 1)
    ce, calls = build_loss("ce"), {"n": 0}

    def slow_loss(logits, targets):  # a slow model: ``sleep_s`` per training micro-batch
        if logits.requires_grad:
            calls["n"] += 1
            if calls["n"] == interrupt_at:
                raise KeyboardInterrupt
            time.sleep(sleep_s)
        return ce(logits, targets)

    base = dict(lr=0.05, epochs=40, batch_size=16, progress=False, patience=None, seed=3,
                num_threads=1, device="cpu")  # fmt: skip
    torch.manual_seed(0)
    result = fit_classifier(
        bag_model(len(tok), 4),
        train,
        collate=functools.partial(pad_collate, pad_id=0),
        loss_fn=slow_loss,
        num_classes=4,
        settings=TrainSettings(**{**base, **kw}),
        eval_items=val,
        work_dir=tmp_path,
    )
    return result


@pytest.mark.integration
def test_a_spent_budget_stops_training_evaluates_and_records_the_reason(tmp_path):
    result = _fit(tmp_path, sleep_s=0.02, time_budget=0.3)
    info, history = result.info, result.history
    assert info["stop_reason"] == "time_budget" and info["stopped_early"] is False
    assert info["planned_steps"] == 400 and 3 <= info["steps"] < 100
    # the step it stopped at was evaluated, and the best evaluation is kept on disk
    assert history[-1]["step"] == info["steps"]
    assert info["best_step"] in [h["step"] for h in history]
    assert (tmp_path / "checkpoints" / "best" / "model.pt").is_file()
    # (no assertion on history[-1]["elapsed_s"]: when the budget runs out right after an
    # evaluation step, that evaluation was timed before the budget was spent, so its clock
    # reading depends on machine load; stop_reason above is what the budget decided)
    log = (tmp_path / "train.log").read_text()
    assert "time budget 0.3 spent" in log and f"at step {info['steps']}" in log
    assert result.info["time_budget"] == 0.3


@pytest.mark.integration
def test_without_a_budget_the_reason_is_the_epoch_count_or_max_steps(tmp_path):
    assert _fit(tmp_path / "a", epochs=1).info["stop_reason"] == "epochs"
    assert _fit(tmp_path / "b", max_steps=4).info["stop_reason"] == "max_steps"


@pytest.mark.integration
def test_resume_counts_the_time_of_earlier_sessions(tmp_path):
    from tailtune.training import TrainingInterrupted

    # session 1: 0.05 s a step, Ctrl-C during step 9 (a checkpoint of step 8 is saved)
    with pytest.raises(TrainingInterrupted):
        _fit(tmp_path, sleep_s=0.05, interrupt_at=9, time_budget=60, eval_every=4)
    saved = json.loads((tmp_path / "checkpoints" / "step-000008" / "state.json").read_text())
    spent = saved["loop"]["elapsed_s"]
    assert spent >= 0.4
    # session 2 with a budget smaller than what session 1 already spent: no step is trained
    result = _fit(tmp_path, resume=True, time_budget=spent * 0.9, eval_every=4)
    assert result.info["stop_reason"] == "time_budget" and result.info["steps"] == 8
    assert [h["step"] for h in result.history] == [4, 8]


@pytest.mark.integration
def test_a_stop_file_ends_training_at_the_next_evaluation_with_the_best_weights(tmp_path):
    """A STOP file in the work folder (what a sweep's pruner writes) ends the fit at the
    evaluation that sees it; the run finishes normally with its best checkpoint."""
    from tailtune.runs import layout

    tmp_path.mkdir(exist_ok=True)
    (tmp_path / layout.STOP_REQUEST).touch()  # asked before the first evaluation
    result = _fit(tmp_path, eval_every=5, epochs=40)
    info, history = result.info, result.history
    assert info["stop_reason"] == "stop_requested"
    assert [h["step"] for h in history] == [5] and info["steps"] == 5
    assert info["best_step"] == 5 and (tmp_path / "checkpoints" / "best" / "model.pt").is_file()

"""training_steps against seed 001's figures and hand counts."""

import pytest

from tailtune.calc import format_steps, training_steps
from tailtune.errors import ConfigError

pytestmark = pytest.mark.unit


def test_seed_001_experiment_3_gives_30_per_epoch_and_90_total():
    plan = training_steps(958, batch=4, grad_accum=8, gpus=1, epochs=3)
    assert plan.effective_batch == 32
    assert plan.batches_per_epoch == 240  # ceil(958 / 4)
    assert (plan.steps_per_epoch, plan.total_steps) == (30, 90)
    assert (plan.planned_steps_per_epoch, plan.planned_total_steps) == (30, 90)


@pytest.mark.parametrize(("samples", "per_epoch", "total"), [(162, 6, 18), (477, 15, 45)])
def test_seed_001_experiments_1_and_2(samples, per_epoch, total):
    plan = training_steps(samples, 4, 8, 1, 3)
    assert (plan.steps_per_epoch, plan.total_steps) == (per_epoch, total)


def test_partial_window_floor_count_differs_and_is_shown():
    # 162 samples at 4: 41 batches; 41 // 8 = 5 (transformers 4.x) but 6 updates happen
    plan = training_steps(162, 4, 8, 1, 3)
    assert (plan.planned_steps_per_epoch, plan.planned_total_steps) == (5, 15)
    assert any("4.x" in label for label, _ in format_steps(plan))


def test_multi_gpu_and_fractional_epochs():
    # 1000 samples, 2 GPUs x batch 8: 63 batches per device; accum 4 -> 16 updates/epoch
    plan = training_steps(1000, 8, 4, 2, 2.5)
    assert plan.effective_batch == 64
    assert plan.batches_per_epoch == 63
    assert plan.steps_per_epoch == 16
    assert plan.total_steps == 40


def test_bad_input_is_one_line_config_error():
    with pytest.raises(ConfigError, match="batch must be a positive integer"):
        training_steps(10, 0)

"""Losses against hand-computed values (logits [[2,0,0],[0,1,0]], targets [0,2])."""

import math

import pytest

torch = pytest.importorskip("torch")

from tailtune.errors import ConfigError  # noqa: E402
from tailtune.objectives.losses import (  # noqa: E402
    build_loss,
    cross_entropy,
    focal_loss,
    logit_adjusted_loss,
    uniform_loss,
)

pytestmark = pytest.mark.unit

LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
TARGETS = torch.tensor([0, 2])
# -log p by hand: row 1 lse = ln(e^2 + 2) = 2.2395448, row 2 lse = ln(e + 2) = 1.5514447
NLL = [2.2395448 - 2.0, 1.5514447]


def test_plain_cross_entropy_is_the_mean_nll_and_matches_torch():
    expected = (NLL[0] + NLL[1]) / 2  # 0.8954947
    assert cross_entropy(LOGITS, TARGETS).item() == pytest.approx(0.8954947, abs=1e-6)
    assert expected == pytest.approx(0.8954947, abs=1e-6)
    ref = torch.nn.functional.cross_entropy(LOGITS, TARGETS).item()
    assert cross_entropy(LOGITS, TARGETS).item() == pytest.approx(ref, abs=1e-6)


def test_weighted_cross_entropy_averages_over_examples_not_weights():
    w = torch.tensor([1.0, 2.0, 0.5])
    # (1 * 0.2395448 + 0.5 * 1.5514447) / 2 = 0.5076336
    assert cross_entropy(LOGITS, TARGETS, class_weights=w).item() == pytest.approx(
        0.5076336, abs=1e-6
    )
    # torch divides by the summed target weights (1.5): 0.6768447 -- documented difference
    torch_mean = torch.nn.functional.cross_entropy(LOGITS, TARGETS, weight=w).item()
    assert torch_mean == pytest.approx(0.6768447, abs=1e-6)


def test_label_smoothing_matches_hand_value_and_torch():
    # row 1: 0.9*0.2395448 + 0.1*mean(0.2395448, 2.2395448, 2.2395448) = 0.3728781
    # row 2: 0.9*1.5514447 + 0.1*mean(1.5514447, 0.5514447, 1.5514447) = 1.5181114
    got = cross_entropy(LOGITS, TARGETS, label_smoothing=0.1).item()
    assert got == pytest.approx((0.3728781 + 1.5181114) / 2, abs=1e-6)
    ref = torch.nn.functional.cross_entropy(LOGITS, TARGETS, label_smoothing=0.1).item()
    assert got == pytest.approx(ref, abs=1e-6)


def test_weights_multiply_the_whole_smoothed_example_loss():
    w = torch.tensor([1.0, 2.0, 0.5])
    got = cross_entropy(LOGITS, TARGETS, class_weights=w, label_smoothing=0.1).item()
    assert got == pytest.approx((1.0 * 0.3728781 + 0.5 * 1.5181114) / 2, abs=1e-6)


def test_focal_loss_hand_value_and_reductions():
    # p_y = exp(-nll): 0.7869860, 0.2119416; (1-p)^2 * nll = 0.0108693, 0.9635032
    got = focal_loss(LOGITS, TARGETS, gamma=2.0).item()
    assert got == pytest.approx((0.0108693 + 0.9635032) / 2, abs=1e-6)
    assert focal_loss(LOGITS, TARGETS, gamma=0.0).item() == pytest.approx(0.8954947, abs=1e-6)
    alpha = torch.tensor([0.25, 1.0, 2.0])
    got = focal_loss(LOGITS, TARGETS, gamma=2.0, alpha=alpha).item()
    assert got == pytest.approx((0.25 * 0.0108693 + 2.0 * 0.9635032) / 2, abs=1e-6)


def test_logit_adjusted_loss_adds_tau_log_prior():
    priors = torch.tensor([0.5, 0.25, 0.25])
    # row 1 logits + log pi = [2 - ln 2, -ln 4, -ln 4]; p_0 = 2e^2 / (2e^2 + 2) = 0.8808  ...
    row1 = -math.log(0.5 * math.e**2 / (0.5 * math.e**2 + 0.5))
    row2 = -math.log(0.25 / (0.5 + 0.25 * math.e + 0.25))
    got = logit_adjusted_loss(LOGITS, TARGETS, log_priors=priors.log(), tau=1.0).item()
    assert got == pytest.approx((row1 + row2) / 2, abs=1e-6)
    assert got == pytest.approx((0.1269280 + 1.7436684) / 2, abs=1e-6)
    # tau = 0 is plain cross-entropy
    zero = logit_adjusted_loss(LOGITS, TARGETS, log_priors=priors.log(), tau=0.0).item()
    assert zero == pytest.approx(0.8954947, abs=1e-6)


def test_build_loss_dispatches_and_validates():
    w = [1.0, 2.0, 0.5]
    assert build_loss("ce")(LOGITS, TARGETS).item() == pytest.approx(0.8954947, abs=1e-6)
    assert build_loss("ce", class_weights=w)(LOGITS, TARGETS).item() == pytest.approx(
        0.5076336, abs=1e-6
    )
    assert build_loss("focal", focal_gamma=0.0)(LOGITS, TARGETS).item() == pytest.approx(
        0.8954947, abs=1e-6
    )
    la = build_loss("logit_adjusted", log_priors=[math.log(0.5), math.log(0.25), math.log(0.25)])
    assert la(LOGITS, TARGETS).item() == pytest.approx((0.1269280 + 1.7436684) / 2, abs=1e-6)
    with pytest.raises(ConfigError, match="focal"):
        build_loss("focal", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="expected one of"):
        build_loss("hinge")
    with pytest.raises(ConfigError, match="priors"):
        build_loss("logit_adjusted")


def test_uniform_loss_is_ln_k_for_cross_entropy_and_for_softmax_bug():
    loss = build_loss("ce")
    assert uniform_loss(loss, LOGITS, TARGETS).item() == pytest.approx(math.log(3), abs=1e-6)

    def broken(lg, y):  # a classic bug: probabilities passed to cross-entropy
        return torch.nn.functional.cross_entropy(torch.softmax(lg, -1), y)

    assert uniform_loss(broken, LOGITS, TARGETS).item() == pytest.approx(math.log(3), abs=1e-6)


def test_losses_are_differentiable_and_accept_bf16_logits():
    lg = LOGITS.clone().to(torch.bfloat16).requires_grad_(True)
    build_loss("ce", class_weights=[1, 2, 3], label_smoothing=0.1)(lg, TARGETS).backward()
    assert lg.grad is not None and torch.isfinite(lg.grad.float()).all()

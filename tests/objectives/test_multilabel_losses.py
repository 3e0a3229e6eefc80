"""Multi-label losses, positive weights and set samplers against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tailtune.objectives.samplers import set_example_probabilities
from tailtune.objectives.weights import positive_weights

torch = pytest.importorskip("torch")
from tailtune.objectives.multilabel import (  # noqa: E402
    asymmetric_loss,
    bce,
    build_set_loss,
    distribution_balanced_loss,
    focal_bce,
)

pytestmark = pytest.mark.unit


def sp(x):
    """softplus: −log σ(−x) = log(1 + e^x)."""
    return math.log1p(math.exp(x))


def sig(x):
    return 1 / (1 + math.exp(-x))


Z = torch.tensor([[0.0, 2.0]])
Y = torch.tensor([[1.0, 0.0]])


def test_bce_with_positive_weights():
    # positive term of label 0 weighted 2: 2·log(1 + e^0); negative of label 1: log(1 + e^2)
    want = (2 * math.log(2) + sp(2)) / 2
    assert bce(Z, Y, pos_weight=torch.tensor([2.0, 1.0])).item() == pytest.approx(want, rel=1e-6)
    assert bce(Z, Y).item() == pytest.approx((math.log(2) + sp(2)) / 2, rel=1e-6)


def test_focal_bce():
    # p_t = 0.5 for the positive; 1 − σ(2) for the negative
    pt = 1 - sig(2)
    want = (0.25 * math.log(2) + (1 - pt) ** 2 * -math.log(pt)) / 2
    assert focal_bce(Z, Y, gamma=2.0).item() == pytest.approx(want, rel=1e-5)
    assert focal_bce(Z, Y, gamma=0.0).item() == pytest.approx(bce(Z, Y).item(), rel=1e-6)


def test_asymmetric_loss_margin_drops_easy_negatives():
    z = torch.tensor([[0.0, 0.0, -3.0]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    # positive: γ₊ = 0 -> log 2; negative at p = .5: p_m = .45 -> .45^4 · −log(.55);
    # negative at σ(−3) = 0.047 < m = 0.05 -> exactly 0
    want = (math.log(2) + 0.45**4 * -math.log(0.55) + 0.0) / 3
    assert asymmetric_loss(z, y).item() == pytest.approx(want, rel=1e-5)
    # without focusing or margin it is plain BCE
    plain = asymmetric_loss(z, y, gamma_pos=0, gamma_neg=0, clip=0)
    assert plain.item() == pytest.approx(bce(z, y).item(), rel=1e-5)


def test_distribution_balanced_loss_hand_computed():
    counts, n = [1, 3], 4
    z = torch.tensor([[0.5, -1.0]])
    y = torch.tensor([[1.0, 1.0]])
    # r = (1/n_i) / Σ_j 1/n_j = [1, 1/3] / (4/3) = [0.75, 0.25]; r̂ = 0.1 + σ(10 (r − 0.2))
    w = [0.1 + sig(10 * (0.75 - 0.2)), 0.1 + sig(10 * (0.25 - 0.2))]
    # z' = z + κ log(p/(1 − p)) / λ with p = [1/4, 3/4]
    zp = [0.5 + 0.05 * math.log(1 / 3) / 2, -1.0 + 0.05 * math.log(3) / 2]
    terms = [w[i] * sp(-zp[i]) * (1 - sig(zp[i])) ** 2 for i in range(2)]  # positives
    got = distribution_balanced_loss(z, y, label_counts=counts, n_texts=n)
    assert got.item() == pytest.approx(sum(terms) / 2, rel=1e-5)
    # a negative: logit scaled by λ = 2, weight divided by λ; text carries label 0 only:
    # r = [1, 1/3] / 1 = [1, 1/3]
    y2 = torch.tensor([[1.0, 0.0]])
    w2 = [0.1 + sig(10 * (1 - 0.2)), 0.1 + sig(10 * (1 / 3 - 0.2))]
    zn = 2 * zp[1]
    want = (w2[0] * sp(-zp[0]) * (1 - sig(zp[0])) ** 2 + w2[1] / 2 * sp(zn) * sig(zn) ** 2) / 2
    got2 = distribution_balanced_loss(z, y2, label_counts=counts, n_texts=n)
    assert got2.item() == pytest.approx(want, rel=1e-5)


def test_build_set_loss_names_and_errors():
    from tailtune.errors import ConfigError

    assert build_set_loss("asl").__name__ == "asl_loss"
    with pytest.raises(ConfigError, match="objective.set_loss: got 'x'"):
        build_set_loss("x")
    with pytest.raises(ConfigError, match="db needs the training label counts"):
        build_set_loss("db")
    db = build_set_loss("db", label_counts=[1, 3], n_texts=4)
    assert torch.isfinite(db(Z, Y))


def test_losses_learn_a_separable_problem():
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = torch.stack([(x[:, 0] > 0), (x[:, 1] > 0.8)], dim=1).float()
    for loss in (build_set_loss("bce"), build_set_loss("asl"),
                 build_set_loss("db", label_counts=y.sum(0).tolist(), n_texts=64)):  # fmt: skip
        lin = torch.nn.Linear(4, 2)
        opt = torch.optim.SGD(lin.parameters(), lr=1.0)
        for _ in range(200):
            opt.zero_grad()
            loss(lin(x), y).backward()
            opt.step()
        # ranking, not a 0.5 cut: ASL and DB move where a label's scores cross 0.5 (a reason
        # for tuned thresholds), but each must rank positives above negatives
        scores = lin(x).detach().numpy()
        for j in range(2):
            assert roc_auc_score(y[:, j].numpy(), scores[:, j]) > 0.97, loss.__name__


def test_positive_weights_sqrt_inverse():
    y = np.array([[1, 1], [0, 1], [0, 1], [0, 1]])
    # counts 1 and 4: n^-1/2 = [1, 0.5], mean 0.75 -> [4/3, 2/3]
    assert positive_weights(y, "sqrt_inverse") == pytest.approx([4 / 3, 2 / 3])
    with pytest.raises(ValueError, match="positive training text"):
        positive_weights(np.array([[1, 0]]), "sqrt_inverse")


def test_set_sampler_reaches_texts_through_each_label():
    y = np.array([[1, 0], [1, 1], [0, 1], [0, 1], [0, 0]])
    # class-balanced (q = 0): n = [2, 3]; p_i ∝ Σ_j 1/n_j -> [1/2, 1/2 + 1/3, 1/3, 1/3];
    # the empty-set text is a class of 1 -> 1
    raw = np.array([1 / 2, 5 / 6, 1 / 3, 1 / 3, 1.0])
    assert set_example_probabilities(y, "class_balanced") == pytest.approx(raw / raw.sum())

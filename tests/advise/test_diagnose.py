"""The unmeasurable rule, examples to a target F1, and the diagnosis of fitted classes."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.advise.curves import CurveFit
from tailtune.advise.diagnose import diagnose_class, examples_to_target, validation_needed
from tailtune.advise.fit import ClassCurve, fit_curves
from tailtune.advise.points import Points

pytestmark = pytest.mark.unit


def test_validation_needed_rule():
    # n = z^2 p(1-p) / h^2 at p = 1/2: 24.01 -> 25 for ±0.2, 96.04 -> 97 for ±0.1
    assert validation_needed(0, 0.2) == 25
    assert validation_needed(3, 0.2) == 22
    assert validation_needed(5, 0.1) == 92
    assert validation_needed(40, 0.2) == 0


def _curve(a, b, c, n_train=100, support=30):
    counts = np.array([25, 50, 75, 100])
    fit = CurveFit(a, b, c, "class", 4, 0.0)
    return ClassCurve("x", "mid", support, n_train, counts, fit.predict(counts), np.ones(4), fit)


def test_examples_to_target_inverts_the_curve():
    cv = _curve(0.9, 2.0, 0.5)  # F1(100) = 0.7; F1 = 0.8 at n = (2 / 0.1)^2 = 400
    assert examples_to_target(cv, 0.8) == 300
    assert examples_to_target(cv, 0.6) == 0
    assert examples_to_target(cv, 0.95) is None  # asymptote 0.9 below the target


def test_diagnosis_rising_flat_low_and_unmeasurable():
    assert diagnose_class(_curve(0.9, 2.0, 0.5))["diagnosis"] == "data-starved"
    assert diagnose_class(_curve(0.3, 0.0, 0.0), target=0.5)["diagnosis"] == "saturated low"
    assert diagnose_class(_curve(0.8, 0.0, 0.0), target=0.5)["diagnosis"] == "ok"
    cv = _curve(0.9, 2.0, 0.5, support=4)
    cv.fit = None
    d = diagnose_class(cv)
    assert d["diagnosis"] == "noise-limited" and d["validation_needed"] == 21
    pair = {"other": "y", "to_other": 5, "errors": 6, "why": "names 0.90"}
    assert diagnose_class(_curve(0.9, 2.0, 0.5), confusable=pair)["diagnosis"] == "confusable"


def test_fit_curves_leaves_small_support_classes_unfitted_and_pools_few_counts():
    # class 0: 40 val rows, counts 4 distinct; class 1: 3 val rows; class 2: counts 1,1,2,2
    gold = np.array([0] * 40 + [1] * 3 + [2] * 10)
    runs = [(f, s) for s in (1, 2) for f in (0.25, 0.5, 0.75, 1.0)]
    counts = np.array([[int(40 * f), int(8 * f) or 1, 1 if f <= 0.5 else 2] for f, _ in runs])
    rng = np.random.default_rng(0)
    preds = []
    for f, _ in runs:  # class 0 gets more right with more data
        p = gold.copy()
        wrong = rng.random(len(gold)) > f * 0.9
        p[wrong] = (gold[wrong] + 1) % 3
        preds.append(p)
    pts = Points(["a", "b", "c"], gold, runs, counts, np.array(preds), [])
    curves = fit_curves(pts, {"a": "mid", "b": "tail", "c": "tail"}, n_boot=30)
    assert curves[0].fit.kind == "class" and curves[0].boot.shape == (30, 3)
    assert curves[1].fit is None  # 3 validation examples: not fitted to its own points
    assert curves[1].prior.kind == "tier prior" and curves[1].curve is curves[1].prior
    assert curves[1].boot.shape == (30, 3)
    assert curves[2].fit.kind in ("tier", "flat")
    assert curves[0].fit.predict(40) > curves[0].fit.predict(10)

"""benchmarks/multilabel_sklearn.py on a tiny multi-label set whose rare label never reaches a
0.5 score: the fixed rule never predicts it, the thresholds tuned on validation do."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tailtune.evaluation.set_metrics import set_metrics

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "multilabel_sklearn.py"


def _module():
    spec = importlib.util.spec_from_file_location("multilabel_sklearn", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _data(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    texts, rows = [], []
    for i in range(n):
        a, b, r = rng.random() < 0.5, rng.random() < 0.4, i % 25 == 0  # r: 4% of texts
        words = ["apple" if a else "pear", "blue" if b else "red", f"w{rng.integers(50)}"]
        if r:
            words.append("zebra")
        texts.append(" ".join(words))
        rows.append([int(a), int(b), int(r)])
    return texts, np.array(rows)


def test_tuned_thresholds_find_the_rare_label_that_0_5_misses():
    mod = _module()
    (tr, y_tr), (dv, y_dv), (te, y_te) = _data(0), _data(1), _data(2)
    x_tr, x_dv, x_te = mod.features(tr, dv, te)
    model = mod.fit_ovr(x_tr, y_tr, 0.1)  # strong regularization: rare scores stay low
    p_dv, p_te = model.predict_proba(x_dv), model.predict_proba(x_te)
    labels = ["a", "b", "rare"]
    assert p_te[:, 2].max() < 0.5
    rules = mod.rules(p_dv, y_dv, labels)
    fixed = set_metrics(y_te, rules["fixed 0.5"].apply(p_te), labels)
    tuned = set_metrics(y_te, rules["per-label, shrink 10"].apply(p_te), labels)
    assert "rare" in fixed["zero_f1_labels"]
    assert tuned["zero_f1"] == 0 and tuned["macro_f1"] > fixed["macro_f1"] + 0.2

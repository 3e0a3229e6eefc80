"""The console's metrics table names label-set figures as what they are."""

from __future__ import annotations

import numpy as np
import pytest

from tailtune.cli._print import console, print_metrics_table
from tailtune.evaluation.metrics import compute_metrics
from tailtune.evaluation.set_metrics import set_metrics

pytestmark = pytest.mark.unit


def _shown(by_split) -> str:
    width = console.width
    console.width = 200  # one line per header, whatever the terminal
    try:
        with console.capture() as cap:
            print_metrics_table(by_split)
    finally:
        console.width = width
    return cap.get()


def test_a_label_set_run_shows_set_figures():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=bool)
    pred = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=bool)
    m = set_metrics(y, pred, ["a", "b", "c"])
    out = _shown({"val": m})
    for name in ("micro F1", "samples F1", "subset acc.", "Hamming", "labels"):
        assert name in out
    assert "weighted F1" not in out and "bal. acc." not in out
    assert f"{m['subset_accuracy']:.3f}" in out and f"{m['hamming_loss']:.3f}" in out


def test_a_single_label_run_keeps_its_table():
    out = _shown({"val": compute_metrics(["a", "b", "a"], ["a", "a", "a"])})
    assert "weighted F1" in out and "bal. acc." in out and "samples F1" not in out

"""Curve diagnosis on hand-built histories: the usual training regimes, four controlled cases, bugs."""

from __future__ import annotations

import json
import math

import pytest

from tailtune.errors import DataError
from tailtune.evaluation.diagnose import (
    compare_runs,
    diagnose_history,
    diagnose_many,
    diagnose_path,
    diagnose_run,
    load_log,
    softmax_ce_floor,
)

pytestmark = pytest.mark.unit


def hist(train, val, f1=None, acc=None, steps_per_epoch=None):
    rows = []
    for i, (t, v) in enumerate(zip(train, val, strict=True)):
        row = {"epoch": i + 1, "train_loss": t, "val_loss": v}
        if f1:
            row["macro_f1"] = f1[i]
        if acc:
            row["accuracy"] = acc[i]
        if steps_per_epoch:
            row["step"] = (i + 1) * steps_per_epoch
        rows.append(row)
    return rows


def test_worked_example_is_overtrained_with_lowest_loss_at_epoch_3():
    # A textbook overtraining curve: train 2.8 -> 0.4, val 2.9, 1.6, 1.5, 1.55, 1.6. The minimum
    # val loss (1.5) is at epoch 3 (a loose reading says "epoch 2 at 1.6"; the numbers say 3).
    d = diagnose_history(hist([2.8, 1.4, 0.9, 0.6, 0.4], [2.9, 1.6, 1.5, 1.55, 1.6]))
    assert d.verdict == "overtrained"
    assert d.lowest_loss_at == 3
    assert d.evidence["lowest_val_loss"] == 1.5
    assert d.evidence["val_rise_from_min"] == pytest.approx(0.1 / 1.5, abs=1e-4)
    assert "early stopping" in d.next_step


def test_undertrained_both_falling_and_single_epoch():
    d = diagnose_history(hist([3.0, 2.2, 1.7], [3.1, 2.4, 2.0]), n_classes=113)
    assert d.verdict == "undertrained" and d.lowest_loss_at == 3
    assert d.evidence["last_val_change"] == pytest.approx(-(0.4 / 2.4), abs=1e-4)
    # One epoch of full data: one row in the log.
    one_epoch = diagnose_history(hist([2.1], [1.9], f1=[0.12]), n_classes=113, train_size=57_000)
    assert one_epoch.verdict == "undertrained"


def test_well_trained_flat_at_minimum():
    # Vanilla, 3 epochs: val loss 1.62, 1.50, 1.51 is flat (+0.7% < 3%).
    d = diagnose_history(
        hist([1.9, 1.2, 0.9], [1.62, 1.50, 1.51], f1=[0.15, 0.19, 0.20], steps_per_epoch=1808),
        n_classes=113,
    )
    assert d.verdict == "well-trained"
    assert d.lowest_loss_at == 2
    assert d.evidence["batches_per_epoch"] == 1808


def test_data_starved_versus_overtrained_needs_data_size():
    # A small training set, 15 epochs: 157 batches/epoch; F1 plateaus at epoch 4; val loss climbs.
    train = [3.5, 2.5, 1.6, 1.0, 0.6, 0.4, 0.25, 0.15, 0.1, 0.07, 0.05, 0.04, 0.03, 0.03, 0.02]
    val = [3.4, 2.8, 2.4, 2.3, 2.35, 2.4, 2.5, 2.6, 2.7, 2.8, 2.85, 2.9, 2.95, 3.0, 3.0]
    f1 = [
        0.02,
        0.06,
        0.09,
        0.11,
        0.115,
        0.11,
        0.115,
        0.11,
        0.115,
        0.11,
        0.11,
        0.115,
        0.11,
        0.11,
        0.11,
    ]
    small_data = diagnose_history(hist(train, val, f1=f1, steps_per_epoch=157), n_classes=113)
    assert small_data.verdict == "data-starved"
    assert small_data.evidence["batches_per_epoch"] == 157
    assert small_data.evidence["macro_f1_plateau_epoch"] == 4
    assert small_data.evidence["small_training_set"] is True
    # Same curve, 1,808 batches/epoch: plain overtraining; best epoch = val-loss minimum.
    over = diagnose_history(hist(train, val, f1=f1, steps_per_epoch=1808), n_classes=113)
    assert over.verdict == "overtrained" and over.lowest_loss_at == 4
    # A small training set given as a size (5,000 / 113 = 44 per class < 50) also counts.
    small = diagnose_history(hist(train, val, f1=f1), n_classes=113, train_size=5000)
    assert small.verdict == "data-starved"


def test_not_learning_softmax_before_cross_entropy():
    lnk = math.log(113)  # 4.727
    d = diagnose_history(hist([4.74, 4.73, 4.72, 4.72], [4.73, 4.73, 4.72, 4.72]), n_classes=113)
    assert d.verdict == "not-learning"
    assert d.evidence["ln_k"] == pytest.approx(lnk, abs=1e-4)
    assert "softmax" in d.next_step
    # Without K, a loss that does not move over 3+ evaluations is caught too.
    flat = diagnose_history(hist([2.3, 2.29, 2.28], [2.31, 2.3, 2.3]))
    assert flat.verdict == "not-learning"


def test_unstable_nan_and_spike():
    d = diagnose_history(hist([2.0, 1.5, float("nan")], [2.1, 1.7, float("nan")]))
    assert d.verdict == "unstable" and d.evidence["non_finite"][0] == ("train_loss", 3)
    spike = diagnose_history(hist([2.0, 1.0, 0.8, 2.5, 0.9], [2.1, 1.3, 1.2, 2.6, 1.3]))
    assert spike.verdict == "unstable"
    assert spike.evidence["train_loss_spike"]["epoch"] == 4


def test_load_log_csv_and_json_aliases(tmp_path):
    csv = tmp_path / "small_data.csv"
    csv.write_text("Epoch,Train Loss,Val Loss,Accuracy,F1\n1,2.8,2.9,0.3,0.05\n2,1.4,1.6,0.5,0.1\n")
    # Header names with spaces are normalised to snake case below.
    frame = load_log(csv)
    assert list(frame.columns)[:1] == ["epoch"]
    js = tmp_path / "log.json"
    js.write_text(json.dumps([
        {"epoch": e, "train_loss": t, "val_loss": v, "f1": 0.1}
        for e, t, v in zip(range(1, 6), [2.8, 1.4, 0.9, 0.6, 0.4], [2.9, 1.6, 1.5, 1.55, 1.6], strict=True)
    ]))  # fmt: skip
    assert "macro_f1" in load_log(js).columns
    assert diagnose_path(js).verdict == "overtrained"
    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,acc\n1,0.5\n")
    with pytest.raises(DataError, match="no train_loss or val_loss"):
        load_log(bad)


def test_compare_runs_flags_reweighting_signature(make_run, long_tail):
    # Sqrt-weighted vs vanilla on 113 classes: 55.4% / 0.199 / 49 vs 50.2% / 0.216 / 39.
    flags = compare_runs([
        ("vanilla", {"accuracy": 0.554, "macro_f1": 0.199, "zero_f1": 49}),
        ("sqrt_weighted", {"accuracy": 0.502, "macro_f1": 0.216, "zero_f1": 39}),
        ("small_data", {"accuracy": 0.40, "macro_f1": 0.10, "zero_f1": 80}),
    ])  # fmt: skip
    assert [(f["a"], f["b"]) for f in flags] == [("vanilla", "sqrt_weighted")]
    assert flags[0]["d_zero_f1"] == -10
    assert flags[0]["d_accuracy"] == pytest.approx(-0.052)
    # From run directories.
    g, p, pr, train, _ = long_tail(seed=0)
    g2, p2, pr2, *_ = long_tail(seed=0, weighted=True)
    ra = make_run("vanilla", gold=g, pred=p, probs=pr, train_counts=train)
    rb = make_run("weighted", gold=g2, pred=p2, probs=pr2, train_counts=train)
    flags = compare_runs([ra, rb])
    assert [(f["a"], f["b"]) for f in flags] == [("vanilla", "weighted")]


def test_diagnose_run_reads_k_and_train_size(make_run, long_tail):
    g, p, pr, train, _ = long_tail(seed=0)
    rows = hist([3.41, 3.40, 3.40], [3.40, 3.40, 3.39], steps_per_epoch=10)  # ln 30 = 3.401
    run = make_run("stuck", gold=g, pred=p, probs=pr, train_counts=train, history=rows)
    d = diagnose_run(run)
    assert d.verdict == "not-learning" and d.evidence["ln_k"] == pytest.approx(
        math.log(30), abs=1e-4
    )
    plain = make_run("plain", gold=g, pred=p, probs=pr, train_counts=train)
    with pytest.raises(DataError, match="no history"):
        diagnose_run(plain)


def test_softmax_floor_catches_a_bug_stuck_below_ln_k():
    # Measured on the loop (bag model, 30 classes, softmax before CE): train loss 2.867, 2.789,
    # 2.789 — 18% under ln 30 = 3.401 but never below the floor ln(29 + e) - 1 = 2.457.
    assert softmax_ce_floor(30) == pytest.approx(math.log(29 + math.e) - 1)
    assert softmax_ce_floor(113) == pytest.approx(3.742, abs=1e-3)
    d = diagnose_history(hist([2.867, 2.789, 2.789], [2.789, 2.789, 2.789]), n_classes=30)
    assert d.verdict == "not-learning" and "never below 2.457" in d.reasons[0]
    # A model that went below the floor and then flattened is learning.
    ok = diagnose_history(hist([2.0, 1.2, 1.19], [1.5, 1.3, 1.3]), n_classes=30)
    assert ok.verdict == "well-trained"


def test_compare_runs_names_the_objective_change():
    flags = compare_runs([
        ("vanilla", {"accuracy": 0.554, "macro_f1": 0.199, "zero_f1": 49}, {"objective": {"class_weights": "none"}}),
        ("sqrt_weighted", {"accuracy": 0.502, "macro_f1": 0.216, "zero_f1": 39}, {"objective": {"class_weights": "sqrt_inverse"}}),
        ("noise", {"accuracy": 0.552, "macro_f1": 0.201, "zero_f1": 48}, {"objective": {"class_weights": "none"}}),
    ])  # fmt: skip
    # vanilla -> noise moves by 0.002: under min_delta, not flagged.
    assert [(f["a"], f["b"]) for f in flags] == [
        ("vanilla", "sqrt_weighted"),
        ("noise", "sqrt_weighted"),
    ]
    assert flags[0]["objective_change"] == ["objective.class_weights: none → sqrt_inverse"]
    assert "objective differs" in flags[0]["message"]


def test_diagnose_many_mixes_logs_and_runs(tmp_path, make_run, long_tail):
    rows = [
        ("vanilla", [1.9, 1.2, 0.9], [1.62, 1.50, 1.51], 0.554, 0.199),
        ("sqrt_weighted", [1.1, 0.8, 0.7], [0.9, 0.85, 0.85], 0.502, 0.216),
    ]
    paths = []
    for name, tr, va, acc, f1 in rows:
        p = tmp_path / f"{name}.csv"
        lines = [f"{e + 1},{t},{v},{acc},{f1}" for e, (t, v) in enumerate(zip(tr, va, strict=True))]
        p.write_text("epoch,train_loss,val_loss,accuracy,macro_f1\n" + "\n".join(lines) + "\n")
        paths.append(p)
    g, p_, pr, train, _ = long_tail(seed=0)
    paths.append(make_run("tfidf", gold=g, pred=p_, probs=pr, train_counts=train))
    paths.append(tmp_path / "missing.csv")
    results, flags = diagnose_many(paths, n_classes=113)
    assert [(n, d.verdict if d else None) for n, d, _ in results] == [
        ("vanilla", "well-trained"),
        ("sqrt_weighted", "well-trained"),
        ("tfidf", None),
        ("missing.csv", None),
    ]
    assert "no history" in results[2][2] and "not found" in results[3][2]
    assert [(f["a"], f["b"]) for f in flags] == [("vanilla", "sqrt_weighted")]

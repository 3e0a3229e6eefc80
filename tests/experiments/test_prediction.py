"""Structured predictions: validation, the held / did not hold / inconclusive rule, the record."""

from __future__ import annotations

import pytest
from conftest import TRAINER

from tailtune.errors import ConfigError
from tailtune.experiments import load_experiment, run_experiment
from tailtune.experiments.prediction import Prediction, check_prediction


def _comp(a_mean, b_mean, std=None, paired=(), value=4, n=3):
    stats = lambda m: {"mean": m, "std": std, "n": n}  # noqa: E731
    paired = [{"seed": i + 1, "low": lo, "high": hi} for i, (lo, hi) in enumerate(paired)]
    return {"a": "32", "b": str(value), "value": value, "a_stats": stats(a_mean),
            "b_stats": stats(b_mean), "paired": paired}  # fmt: skip


UP = Prediction("macro_f1", "up", 0.01)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("pred", "comp", "verdict", "interval"),
    [
        # Δ +0.05, seed band ±0.02 -> [0.03, 0.07], bootstrap [0.02, 0.08]: hull [0.02, 0.08]
        (UP, _comp(0.50, 0.55, 0.01, [(0.02, 0.08)]), "held", (0.02, 0.08)),
        # the opposite direction: the same interval excludes "down"
        (
            Prediction("macro_f1", "down"),
            _comp(0.50, 0.55, 0.01, [(0.02, 0.08)]),
            "did not hold",
            (0.02, 0.08),
        ),  # fmt: skip
        # the interval is above 0 but below the predicted size: [0.001, 0.009] < 0.01
        (UP, _comp(0.500, 0.505, 0.001, [(0.001, 0.009)]), "did not hold", (0.001, 0.009)),
        # straddles 0: Δ +0.02 but the seed band is ±0.04
        (UP, _comp(0.50, 0.52, 0.02, [(0.005, 0.035)]), "inconclusive", (-0.02, 0.06)),
        # effect clears 0 but is under at_least, interval reaches past it: inconclusive
        (UP, _comp(0.50, 0.508, 0.001, [(0.002, 0.015)]), "inconclusive", (0.002, 0.015)),
        # one seed, bootstrap only
        (UP, _comp(0.50, 0.55, None, [(0.02, 0.08)], n=1), "held", (0.02, 0.08)),
        # a tier metric without a bootstrap: seed band only, fewer tail F1 predicted down
        (Prediction("zero_f1", "down", 1), _comp(9.0, 4.0, 1.0), "held", (-7.0, -3.0)),
    ],
)
def test_rule(pred, comp, verdict, interval):
    out = check_prediction(pred, [comp])
    one = out["comparisons"][0]
    assert one["verdict"] == verdict == out["verdict"]
    assert one["interval"] == pytest.approx(list(interval))
    assert out["sentence"].startswith(f"{verdict}: ")


@pytest.mark.unit
def test_no_noise_estimate_is_inconclusive_and_free_text_is_not_checkable():
    out = check_prediction(UP, [_comp(0.5, 0.9, None, (), n=1)])
    assert out["verdict"] == "inconclusive" and "no noise estimate" in out["sentence"]
    free = check_prediction(None, [])
    assert free == {"checkable": False, "verdict": "not machine-checkable",
                    "sentence": free["sentence"]}  # fmt: skip
    assert free["sentence"].startswith("not machine-checkable")


@pytest.mark.unit
def test_several_values_all_must_hold_and_value_picks_one():
    good = _comp(0.5, 0.6, 0.01, [(0.05, 0.15)], value=4)
    bad = _comp(0.5, 0.45, 0.01, [(-0.08, -0.02)], value=8)
    assert check_prediction(UP, [good, bad])["verdict"] == "did not hold"
    assert check_prediction(Prediction("macro_f1", "up", 0.01, value=4), [good, bad])["verdict"] == "held"  # fmt: skip
    mixed = _comp(0.5, 0.52, 0.02, [(0.0, 0.04)], value=8)
    assert check_prediction(UP, [good, mixed])["verdict"] == "inconclusive"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("prediction", "message"),
    [
        (
            {"metric": "macro_f2", "direction": "up"},
            "prediction.metric: got 'macro_f2', expected one of: macro_f1, accuracy",
        ),
        ({"direction": "sideways"}, "prediction.direction: got 'sideways', expected up or down"),
        (
            {"direction": "up", "at_least": -0.1},
            "prediction.at_least: got -0.1, expected a number ≥ 0",
        ),  # fmt: skip
        (
            {"direction": "up", "at_least": "big"},
            "prediction.at_least: got 'big', expected a number",
        ),  # fmt: skip
        (
            {"direction": "up", "by": 1},
            "prediction: unknown field 'by'; allowed: metric, direction",
        ),  # fmt: skip
        (
            {"direction": "up", "value": 16},
            "prediction.value: got 16, expected one of the compared values [4]",
        ),  # fmt: skip
        (["up"], "prediction is required"),
    ],
)
def test_structured_prediction_errors_are_one_line(write_exp, prediction, message):
    with pytest.raises(ConfigError, match=r"bs\.yaml: ") as err:
        load_experiment(write_exp(prediction=prediction))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.unit
def test_grid_takes_only_free_text(write_exp):
    with pytest.raises(ConfigError, match="structured prediction needs a one-variable experiment"):
        load_experiment(write_exp(vary=None, grid={"train.batch_size": [32, 4], "train.lr": [1e-5, 2e-5]},
                                  prediction={"direction": "up"}))  # fmt: skip


@pytest.mark.integration
def test_record_says_whether_the_prediction_held(write_exp):
    # fake trainer: batch 4 is right on 85% of examples, batch 32 on 55% (same u per seed)
    held = run_experiment(
        write_exp("held", prediction={"metric": "macro_f1", "direction": "up", "at_least": 0.05,
                                      "text": "batch 4 beats batch 32"}),
        trainer=TRAINER,
    )  # fmt: skip
    check = held.record["prediction_check"]
    assert check["verdict"] == "held" and held.record["prediction"] == "batch 4 beats batch 32"
    comp = check["comparisons"][0]
    cells = held.record["result"]["cells"]
    assert comp["delta"] == pytest.approx(cells[1]["macro_f1"]["mean"] - cells[0]["macro_f1"]["mean"])  # fmt: skip
    assert set(comp["sources"]) == {"seed spread"} | {f"paired bootstrap seed {s}" for s in (1, 2, 3)}  # fmt: skip
    assert comp["interval"][0] == min(lo for lo, _ in comp["sources"].values()) > 0
    md = (held.dir / "record.md").read_text()
    assert "**Prediction held?** **held**: macro_f1 up by at least 0.05" in md and "_Rule_:" in md

    down = run_experiment(write_exp("down", prediction={"direction": "down"}), trainer=TRAINER)
    assert down.record["prediction_check"]["verdict"] == "did not hold"
    assert down.record["prediction"] == "macro_f1 down by at least 0"
    huge = run_experiment(write_exp("huge", prediction={"direction": "up", "at_least": 0.9}), trainer=TRAINER)  # fmt: skip
    assert huge.record["prediction_check"]["verdict"] == "did not hold"

    free = run_experiment(write_exp("free"), trainer=TRAINER)
    assert free.record["prediction_check"]["verdict"] == "not machine-checkable"
    assert "**Prediction held?** not machine-checkable" in (free.dir / "record.md").read_text()


@pytest.mark.integration
def test_a_prediction_edited_after_results_is_a_new_version_and_says_so(write_exp, tmp_path):
    import json
    import subprocess
    import sys

    first = run_experiment(write_exp("edit", prediction={"direction": "down"}), trainer=TRAINER)
    plan = json.loads((first.dir / "experiment.json").read_text())
    (v1,) = plan["prediction_versions"]
    assert v1["version"] == 1 and v1["after_results"] is False and len(v1["hash"]) == 64
    assert first.record["prediction_check"]["verdict"] == "did not hold"
    assert "prediction_changed_after_results" not in first.record

    # the same prediction again: no new version, the registration time stays
    again = run_experiment(write_exp("edit", prediction={"direction": "down"}), trainer=TRAINER)
    assert again.record["prediction_versions"] == [v1]

    # rewritten to fit the figures once they are known
    edited = run_experiment(write_exp("edit", prediction={"direction": "up"}), trainer=TRAINER)
    rec = edited.record
    assert [v["version"] for v in rec["prediction_versions"]] == [1, 2]
    assert rec["prediction_versions"][0] == v1 and rec["prediction_versions"][1]["after_results"]
    assert rec["prediction_changed_after_results"] is True
    assert rec["prediction_check"]["verdict"] == "held"
    assert rec["prediction_check"]["sentence"].startswith("prediction changed after results")
    assert rec["original_prediction_check"]["verdict"] == "did not hold"
    md = (edited.dir / "record.md").read_text()
    assert "**Prediction changed after results** (version 2)" in md
    assert "**Original prediction held?** did not hold" in md
    assert "**Prediction held?** prediction changed after results: **held**" in md

    shown = subprocess.run([sys.executable, "-m", "tailtune", "experiment", "show",
                            str(edited.dir)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "changed after results" in shown.stdout and "did not hold" in shown.stdout

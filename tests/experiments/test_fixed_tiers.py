"""Tier columns of an experiment compare the same classes in every cell: the tiers of the full
training data, recomputed from each run's per-class F1, and the table says so."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from tailtune.experiments import run_experiment

pytestmark = pytest.mark.integration


def test_tier_deltas_use_the_tiers_of_the_full_training_data(tmp_path):
    spec = {
        "base": {"data": {"synthetic": "tiny"}, "model": {"backend": "tfidf"},
                 "eval": {"head_min": 60, "tail_max": 20}},
        "vary": {"data.train_fraction": [1.0, 0.3]},
        "seeds": [1],
        "prediction": "a third of the data loses tail F1",
        "runs_dir": str(tmp_path / "runs"),
    }  # fmt: skip
    path = tmp_path / "frac.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_experiment(path)
    cells = result.record["result"]["cells"]
    full, small = (c["runs"][0] for c in cells)
    full_labels = json.loads((tmp_path / full["run_dir"] / "labels.json").read_text())
    small_labels = json.loads((tmp_path / small["run_dir"] / "labels.json").read_text())
    # the small run's own tiers differ from the full data's (that is what made Δ meaningless)
    assert small_labels["tiers"] != full_labels["tiers"]
    rule = result.record["result"]["tiers_rule"]
    assert rule.startswith("tiers of the full training data") and "same classes" in rule
    for run in (full, small):
        table = pd.read_csv(f"{run['run_dir']}/per_class.csv", dtype={"label": str})
        tiers = table["label"].map(full_labels["tiers"])
        for t in ("head", "mid", "tail"):
            expected = table.loc[tiers == t, "f1"].mean() if (tiers == t).any() else None
            assert run["tiers"][t] == pytest.approx(expected)
    md = (result.dir / "record.md").read_text()
    assert "Tier columns: tiers of the full training data" in md
    shown = subprocess.run([sys.executable, "-m", "tailtune", "experiment", "show",
                            str(result.dir)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert shown.returncode == 0 and "tiers of the full training data" in shown.stdout

"""A multi-label encoder run exported as a 🤗 folder: ``problem_type`` makes the transformers
pipeline apply a sigmoid per label, the tuned thresholds travel in config.json, and a process
that cannot import tailtune gets the label sets ``tailtune predict`` gives."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.export.conftest import FAST_TRAIN
from tests.training.tiny_models import save_tiny_model, toy_task

pytestmark = pytest.mark.integration

SETS = {"billing": "money", "refund": "money|refund", "login": "access|account",
        "delivery": "parcel"}  # fmt: skip
PROBE = ["my invoice was charged twice", "cannot login to my account", "where is my parcel",
         "i want my money back", "hello"]  # fmt: skip

# Runs in a fresh interpreter that refuses to import tailtune: only transformers and the folder.
OUTSIDE = r"""
import json, sys
class NoTailtune:
    def find_spec(self, name, path=None, target=None):
        if name == "tailtune" or name.startswith("tailtune."):
            raise ImportError("tailtune is not available here")
sys.meta_path.insert(0, NoTailtune())
from transformers import AutoConfig, pipeline
folder, texts = sys.argv[1], json.loads(sys.argv[2])
cfg = AutoConfig.from_pretrained(folder)
assert cfg.problem_type == "multi_label_classification"
pipe = pipeline("text-classification", model=folder, top_k=None, device="cpu")
out = []
for scores in pipe(texts, truncation=True):
    chosen = [s["label"] for s in scores if s["score"] >= cfg.tailtune_thresholds[s["label"]]]
    out.append(sorted(chosen))
assert not any(m.startswith("tailtune") for m in sys.modules)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    pytest.importorskip("transformers")
    from tailtune.config import config_from_dict
    from tailtune.workflow import train

    tmp = tmp_path_factory.mktemp("multi")
    texts, labels = toy_task(seed=0, counts={"billing": 60, "delivery": 40, "login": 40,
                                             "refund": 30})  # fmt: skip
    with open(tmp / "toy.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "tags"])
        w.writerows((t, SETS[c]) for t, c in zip(texts, labels, strict=True))
    base = save_tiny_model(tmp / "bert", "bert")
    cfg = config_from_dict({
        "name": "multi", "seed": 1, "runs_dir": str(tmp / "runs"),
        "data": {"path": str(tmp / "toy.csv"), "label_columns": ["tags"],
                 "multi_label": "sets", "multi_label_separator": "|"},
        "split": {"val": 0.25},
        "model": {"backend": "encoder", "name": base, "max_length": 32},
        "train": {**FAST_TRAIN, "epochs": 6},
    })  # fmt: skip
    return train(cfg)


def test_hf_export_of_label_sets_matches_tailtune_predict_outside_tailtune(multi_run, tmp_path):
    from tailtune.export.api import export_run
    from tailtune.workflow.apply import predict

    report = export_run(multi_run, "hf", tmp_path / "hf")
    agree = report["agreement"]
    assert agree["label_set_agreement"] == 1.0 and agree["within_tolerance"]
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert sorted(config["tailtune_thresholds"]) == ["access", "account", "money", "parcel",
                                                     "refund"]  # fmt: skip
    ours = [sorted(p.split("|")) if p else [] for p in predict(multi_run, PROBE)["pred"]]
    assert any(len(s) > 1 for s in ours)  # the check covers real sets, not single labels
    done = subprocess.run(
        [sys.executable, "-c", OUTSIDE, str(tmp_path / "hf"), json.dumps(PROBE)],
        capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ours

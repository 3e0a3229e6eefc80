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


@pytest.mark.slow  # a tiny encoder traced and run: about a minute on a busy machine
def test_onnx_export_of_label_sets_decides_them_in_the_graph(multi_run, tmp_path):
    pytest.importorskip("onnxruntime")
    from tailtune.export.api import export_run
    from tailtune.export.runtime import OnnxClassifier
    from tailtune.serve.predictor import load_predictor
    from tailtune.workflow.apply import predict

    report = export_run(multi_run, "onnx", tmp_path / "onnx")
    agree = report["agreement"]
    assert agree["label_set_agreement"] == 1.0 and agree["within_tolerance"] and agree["n"] > 0
    assert report["onnx"]["outputs"] == ["logits", "probabilities", "labels"]
    assert len(report["onnx"]["set_rule"]["thresholds"]) == 5
    ours = [tuple(sorted(p.split("|"))) if p else () for p in predict(multi_run, PROBE)["pred"]]
    runtime = OnnxClassifier(tmp_path / "onnx")
    assert [tuple(sorted(s)) for s in runtime.predict(PROBE)] == ours
    p = runtime.predict_proba(PROBE)
    assert p.shape == (5, 5) and not (abs(p.sum(axis=1) - 1) < 1e-6).all()  # sigmoids
    served = load_predictor(tmp_path / "onnx")  # tailtune serve on the export: the same rule
    assert served.rule is not None and served.rule.thresholds == runtime.rule.thresholds


def test_the_graph_decides_as_the_saved_rule_with_top_k_and_at_least_one():
    torch = pytest.importorskip("torch")
    import numpy as np

    from tailtune.export.onnx import _outputs
    from tailtune.objectives.thresholds import SetRule

    rng = np.random.default_rng(0)
    z = rng.normal(-1.0, 2.0, size=(200, 6)).astype(np.float32)
    for top_k, at_least_one in [(None, False), (2, False), (None, True), (1, True)]:
        rule = SetRule(list("abcdef"), [0.3, 0.5, 0.7, 0.2, 0.9, 0.6], top_k=top_k,
                       at_least_one=at_least_one)  # fmt: skip
        _, p, labels = _outputs(torch, torch.as_tensor(z), rule)
        np.testing.assert_array_equal(labels.numpy(), rule.apply(p.double().numpy()))

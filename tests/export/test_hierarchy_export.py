"""Exporting a hierarchical run: a flat model's leaf probabilities go out as usual and
export.json carries the decision rule (tree, decoding, back-off) that turns them into the run's
own paths and answers. A top-down model goes out as one export per stage, hierarchy.json and
the decoder it ships, checked here in a process that cannot import tailtune."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tailtune.config import config_from_dict
from tailtune.errors import TailtuneError
from tailtune.export import export_run
from tailtune.objectives.path_decision import PathDecision
from tailtune.workflow import predict, train

pytestmark = pytest.mark.integration

WORDS = {("bank", "fee"): "overdraft", ("bank", "fraud"): "stolen", ("card", "fee"): "annual"}


def _run(tmp_path, _model=None, _train=None, **hierarchy):
    tmp_path.mkdir(exist_ok=True)
    lines = ["text,Product,Issue"]
    for (product, issue), word in WORDS.items():
        lines += [f"my {product} {word} {i},{product},{issue}" for i in range(16)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    return train(config_from_dict({
        "runs_dir": str(tmp_path / "runs"), "seed": 1,
        "data": {"path": str(tmp_path / "d.csv"), "label_columns": ["Product", "Issue"],
                 "hierarchy": True},
        "split": {"val": 0.25},
        "model": {**(_model or {}), "hierarchy": hierarchy},
        "train": _train or {},
    }))  # fmt: skip


def test_sklearn_export_carries_the_decision_rule(tmp_path):
    skops = pytest.importorskip("skops.io")
    run = _run(tmp_path, backoff_thresholds=[0.6, 0.99])
    report = export_run(run, "sklearn", tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "export.json").read_text())
    assert meta["decision"] == report["decision"]
    decision = PathDecision.from_dict(meta["decision"], "export.json")
    assert decision.rule.thresholds == (0.6, 0.99)
    path = tmp_path / "out" / "pipeline.skops"
    pipe = skops.load(path, trusted=skops.get_untrusted_types(file=path))
    texts = ["my card annual 3", "my bank stolen 9", "hello there"]
    out = decision.describe(pipe.predict_proba(texts), list(pipe.classes_))
    want = predict(run, texts)
    assert out["path"] == want["pred"].tolist() and out["answer"] == want["answer"].tolist()


# Runs in a fresh interpreter that refuses to import tailtune: the export folder, numpy, skops.
OUTSIDE = r"""
import json, sys
class NoTailtune:
    def find_spec(self, name, path=None, target=None):
        if name == "tailtune" or name.startswith("tailtune."):
            raise ImportError("tailtune is not available here")
sys.meta_path.insert(0, NoTailtune())
folder, texts = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, folder)
import hierarchy_runtime
out = hierarchy_runtime.load(folder).predict(texts)
assert not any(m.startswith("tailtune.") or m == "tailtune" for m in sys.modules)
print(json.dumps({**out, "depth": [int(d) for d in out["depth"]]}))
"""

# Three levels, ragged: "bank | fee" is a leaf and also a parent (its paths may stop there), and
# "card" has one child, so the tree has an end option and a parent with nothing to choose.
DEEP = {("bank", "fee"): "overdraft", ("bank", "fee", "late"): "penalty",
        ("bank", "fee", "monthly"): "maintenance", ("bank", "fraud"): "stolen",
        ("card", "fee"): "annual"}  # fmt: skip
PROBE = ["my card annual 3", "my bank stolen 9", "my bank penalty 2", "my bank overdraft 1",
         "hello there", "bank maintenance", "my bank fee"]  # fmt: skip


def _deep_run(tmp_path, **hierarchy):
    lines = ["text,label"]
    for path, word in DEEP.items():
        lines += [f"my {path[0]} {word} {i},{' > '.join(path)}" for i in range(16)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    return train(config_from_dict({
        "runs_dir": str(tmp_path / "runs"), "seed": 1,
        "data": {"path": str(tmp_path / "d.csv"), "label_columns": ["label"], "hierarchy": True,
                 "label_separator": " > ", "level_names": ["Product", "Issue", "Detail"]},
        "split": {"val": 0.25},
        "model": {"hierarchy": hierarchy},
    }))  # fmt: skip


@pytest.mark.slow  # three TF-IDF stages, an export and a fresh interpreter: 40-70 s when busy
@pytest.mark.parametrize("per", ["level", "parent"])
def test_top_down_sklearn_export_gives_the_runs_paths_without_tailtune(tmp_path, per):
    pytest.importorskip("skops.io")
    run = _deep_run(tmp_path, strategy="top_down", per=per, backoff_thresholds=[0.6, 0.7, 0.95])
    report = export_run(run, "sklearn", tmp_path / "out")
    agree = report["agreement"]
    assert agree["n"] > 0 and agree["within_tolerance"]
    assert agree["path_agreement"] == 1.0 and agree["answer_agreement"] == 1.0
    out = tmp_path / "out"
    spec = json.loads((out / "hierarchy.json").read_text())
    assert spec["per"] == per and spec["backoff"]["thresholds"] == [0.6, 0.7, 0.95]
    assert spec["levels"] == ["Product", "Issue", "Detail"] and spec["separator"] == " > "
    # per level: one stage per level with something to choose (Detail under "bank > fee" only);
    # per parent: the root, "bank" and "bank > fee" (card has one child: no stage)
    keys = sorted(v["key"] for v in spec["stages"].values())
    want = ["level 1", "level 2", "level 3"] if per == "level" else ["(root)", "bank",
                                                                        "bank > fee"]  # fmt: skip
    assert keys == want
    end = next(n for n in spec["nodes"] if n["parent"] == "bank > fee")
    assert end["options"][end["end"]] == "bank > fee > (end)"
    assert next(n for n in spec["nodes"] if n["parent"] == "card")["stage"] is None
    for name in spec["stages"]:
        assert (out / name / "pipeline.skops").is_file()
        assert report["top_down"]["stages"][name]["sklearn"]["agreement"]["within_tolerance"]
    got = subprocess.run([sys.executable, "-c", OUTSIDE, str(out), json.dumps(PROBE)],
                         capture_output=True, text=True, check=True, cwd=tmp_path)  # fmt: skip
    outside = json.loads(got.stdout)
    want = predict(run, PROBE)
    assert outside["path"] == want["pred"].tolist()
    assert outside["answer"] == want["answer"].tolist()
    for mine, theirs in zip(outside["level_proba"], want["level_proba"], strict=True):
        theirs = json.loads(theirs)
        assert list(mine) == list(theirs)
        assert [round(v, 5) for v in mine.values()] == pytest.approx(list(theirs.values()),
                                                                     abs=1e-5)  # fmt: skip
    # the rule cut some paths short (so the comparison above covers back-off)
    assert any(a != p for a, p in zip(outside["answer"], outside["path"], strict=True))
    assert "hierarchy_runtime" in (out / "README.md").read_text()
    _served_as_predicted(out, run, PROBE)


def _served_as_predicted(folder, run, texts):
    """``tailtune serve`` on the export folder answers what ``tailtune predict`` does."""
    from fastapi.testclient import TestClient

    from tailtune.serve.app import create_app

    with TestClient(create_app(folder)) as client:
        r = client.post("/predict", json={"texts": texts})
    assert r.status_code == 200, r.text
    got, want = r.json()["predictions"], predict(run, texts)
    assert [g["label"] for g in got] == want["pred"].tolist()
    assert [g["answer"] for g in got] == want["answer"].tolist()
    for g, lp in zip(got, want["level_proba"], strict=True):
        assert g["levels"] == pytest.approx(json.loads(lp), abs=1e-5)


@pytest.mark.slow  # two tiny BERT stages trained and traced: about 35 s on a busy machine
def test_top_down_onnx_and_hf_exports_of_encoder_stages(tmp_path):
    """Tiny BERT stages, one per level, each traced to ONNX (the decoder ships the ONNX runtime
    too) or written as a transformers folder: paths agree with tailtune predict."""
    pytest.importorskip("onnxruntime")
    from tests.export.conftest import FAST_TRAIN
    from tests.training.tiny_models import save_tiny_model

    base = save_tiny_model(tmp_path / "bert", "bert")
    cfg_model = {"backend": "encoder", "name": base, "max_length": 16}
    run = _run(tmp_path / "enc", strategy="top_down", backoff_thresholds=[0.5, 0.6],
               _model=cfg_model, _train={**FAST_TRAIN, "epochs": 2})  # fmt: skip
    report = export_run(run, "onnx", tmp_path / "onnx")
    agree = report["agreement"]
    assert agree["within_tolerance"] and agree["path_agreement"] == 1.0
    out = tmp_path / "onnx"
    assert (out / "tailtune_onnx.py").is_file()
    spec = json.loads((out / "hierarchy.json").read_text())
    assert spec["form"] == "onnx" and len(spec["stages"]) == 2
    for name in spec["stages"]:
        assert (out / name / "model.onnx").is_file() and (out / name / "tokenizer.json").is_file()
    texts = ["my card annual 3", "my bank stolen 9", "hello there"]
    got = subprocess.run([sys.executable, "-c", OUTSIDE, str(out), json.dumps(texts)],
                         capture_output=True, text=True, check=True, cwd=tmp_path)  # fmt: skip
    want = predict(run, texts)
    assert json.loads(got.stdout)["path"] == want["pred"].tolist()
    _served_as_predicted(out, run, texts)
    # the same stages as transformers folders, read through the pipeline
    report = export_run(run, "hf", tmp_path / "hf")
    assert report["agreement"]["within_tolerance"] and report["agreement"]["path_agreement"] == 1
    assert (tmp_path / "hf" / "stage0" / "config.json").is_file()
    got = subprocess.run([sys.executable, "-c", OUTSIDE, str(tmp_path / "hf"), json.dumps(texts)],
                         capture_output=True, text=True, check=True, cwd=tmp_path)  # fmt: skip
    assert json.loads(got.stdout)["answer"] == want["answer"].tolist()


def test_top_down_export_refused_in_the_form_a_stage_lacks(tmp_path):
    run = _run(tmp_path, strategy="top_down")
    with pytest.raises(TailtuneError, match="hf: the top-down stage for level 1 .tfidf.: "):
        export_run(run, "hf", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a tiny BERT trained and traced: about 20 s on a busy machine
def test_onnx_export_of_a_flat_hierarchy_serves_its_paths(tmp_path):
    """The served ONNX folder of a flat hierarchical run answers with the run's decision rule
    (it was passed where the label-set rule goes, and lost)."""
    pytest.importorskip("onnxruntime")
    from tests.export.conftest import FAST_TRAIN
    from tests.training.tiny_models import save_tiny_model

    base = save_tiny_model(tmp_path / "bert", "bert")
    model = {"backend": "encoder", "name": base, "max_length": 16}
    run = _run(tmp_path / "enc", backoff_thresholds=[0.5, 0.9], _model=model,
               _train={**FAST_TRAIN, "epochs": 2})  # fmt: skip
    report = export_run(run, "onnx", tmp_path / "onnx")
    assert report["agreement"]["within_tolerance"] and report["decision"]["backoff"]
    _served_as_predicted(tmp_path / "onnx", run, ["my card annual 3", "my bank stolen 9", "hi"])

"""export_run on real tiny runs: each format reproduces ``tailtune predict``, or refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tailtune.backends import load_backend
from tailtune.errors import TailtuneError
from tailtune.export import export_run

pytestmark = pytest.mark.integration

# texts of the toy vocabulary, one far past max_length=32 tokens (truncation must match)
PROBE = [
    "please refund my money back",
    "the courier is late with my parcel",
    "locked out of my account password",
    "invoice " + " ".join(["the fee is not right on this bill"] * 8),
    "unknown words",
]


def predict_proba(run, texts):
    return load_backend(run / "model").predict_proba(texts)


# -- sklearn ----------------------------------------------------------------------------------

LOAD_WITHOUT_TAILTUNE = """
import json, sys
sys.modules["tailtune"] = None  # any import of tailtune now fails
import skops.io as sio
path, texts = sys.argv[1], json.loads(sys.argv[2])
pipe = sio.load(path, trusted=sio.get_untrusted_types(file=path))
print(json.dumps({"proba": pipe.predict_proba(texts).tolist(),
                  "pred": [str(p) for p in pipe.predict(texts)],
                  "steps": [n for n, _ in pipe.steps],
                  "tailtune_loaded": sys.modules["tailtune"] is not None
                                     or any(m.startswith("tailtune.") for m in sys.modules),
                  "torch_loaded": "torch" in sys.modules}))
"""


def test_sklearn_pipeline_reproduces_tfidf_and_loads_without_tailtune(tfidf_run, tmp_path):
    report = export_run(tfidf_run, "sklearn", tmp_path / "sk")
    assert report["sklearn"]["posthoc_tau"] == 0.7
    assert report["agreement"]["top1_agreement"] == 1.0
    assert report["agreement"]["max_abs_diff"] < 1e-9
    assert report["agreement"]["n"] == report["val_texts"] > 0
    assert json.loads((tmp_path / "sk" / "export.json").read_text())["format"] == "sklearn"
    # a fresh interpreter in isolated mode (-I: no cwd, no PYTHONPATH) with tailtune blocked
    out = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            LOAD_WITHOUT_TAILTUNE,
            str(tmp_path / "sk" / "pipeline.skops"),
            json.dumps(PROBE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout)
    assert not got["tailtune_loaded"]
    assert got["steps"] == ["features", "classifier"]
    want = predict_proba(tfidf_run, PROBE)
    np.testing.assert_allclose(np.asarray(got["proba"]), want, atol=1e-9)
    backend = load_backend(tfidf_run / "model")
    assert got["pred"] == list(backend.predict(PROBE))


def test_sklearn_folds_temperature_and_tau_for_two_classes(tmp_path):
    """Binary LinearSVC: tailtune softmaxes [-s, s] / T; the pipeline's sigmoid must agree."""
    import csv

    from tailtune.config import config_from_dict
    from tailtune.workflow import train
    from tests.training.tiny_models import toy_task

    texts, labels = toy_task(seed=3, counts={"billing": 60, "login": 25})
    with open(tmp_path / "two.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts, labels, strict=True)])
    cfg = config_from_dict(
        {
            "name": "two",
            "runs_dir": str(tmp_path / "runs"),
            "data": {"path": str(tmp_path / "two.csv")},
            "model": {"backend": "tfidf"},
            "objective": {"posthoc_tau": 1.0},
            "split": {"val": 0.3},
        }
    )
    report = export_run(train(cfg), "sklearn", tmp_path / "sk")
    assert report["classes"] == ["billing", "login"]
    assert report["agreement"]["max_abs_diff"] < 1e-9
    assert report["agreement"]["top1_agreement"] == 1.0
    assert report["sklearn"]["temperature"] != 1.0  # a fitted temperature was folded too


# -- hf ---------------------------------------------------------------------------------------


def pipeline_probs(folder, texts, classes):
    import transformers

    pipe = transformers.pipeline("text-classification", model=str(folder), top_k=None)
    out = np.zeros((len(texts), len(classes)))
    for i, scores in enumerate(pipe(texts, truncation=True)):
        for s in scores:
            out[i, classes.index(s["label"])] = s["score"]
    return out


def test_hf_encoder_folds_tau_into_the_bias(encoder_run, tmp_path):
    import transformers

    report = export_run(encoder_run, "hf", tmp_path / "hf")
    assert report["hf"]["folded_into_bias"] is True
    assert report["agreement"]["top1_agreement"] == 1.0
    assert report["agreement"]["max_abs_diff"] <= 1e-5
    classes = report["classes"]
    cfg = transformers.AutoConfig.from_pretrained(tmp_path / "hf")
    assert cfg.id2label == dict(enumerate(classes))
    assert cfg.label2id == {c: i for i, c in enumerate(classes)}
    want = predict_proba(encoder_run, PROBE)
    got = pipeline_probs(tmp_path / "hf", PROBE, classes)
    np.testing.assert_allclose(got, want, atol=1e-5)
    # the bias moved by exactly -tau * log prior (Menon et al. 2021), nothing else changed
    backend = load_backend(encoder_run / "model")
    exported = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf")
    shift = (
        exported.classifier.bias.detach().double()
        - backend.model_.classifier.bias.detach().double()
    )
    np.testing.assert_allclose(shift.numpy(), -0.5 * np.log(backend.prior_), atol=1e-6)
    assert abs(float(shift.std())) > 1e-3  # the toy priors differ, so the fold is visible


def test_hf_decoder_lora_is_merged_with_its_trained_head(decoder_run, tmp_path):
    import transformers

    report = export_run(decoder_run, "hf", tmp_path / "hf")
    folder = tmp_path / "hf"
    assert not (folder / "adapter_config.json").exists()  # a plain model: no PEFT to load it
    assert report["hf"]["model_class"] == "Qwen2ForSequenceClassification"
    assert report["agreement"]["max_abs_diff"] <= 1e-5
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    assert model.config.pad_token_id == tok.pad_token_id is not None
    # the trained head (PEFT modules_to_save), not the base model's fresh one
    backend = load_backend(decoder_run / "model")
    trained = backend.model_.base_model.model.score.modules_to_save["default"].weight
    original = backend.model_.base_model.model.score.original_module.weight
    assert torch_equal(model.score.weight, trained)
    assert not torch_equal(model.score.weight, original)
    got = pipeline_probs(folder, PROBE, report["classes"])
    np.testing.assert_allclose(got, backend.predict_proba(PROBE), atol=1e-5)


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a.detach().float(), b.detach().float()))


def test_hf_refuses_tau_on_a_bias_free_head_but_onnx_carries_it(decoder_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(decoder_run, run)
    state = json.loads((run / "model" / "state.json").read_text())
    state["tau"] = 0.8  # the τ a fitted model applies is learned state
    (run / "model" / "state.json").write_text(json.dumps(state))
    with pytest.raises(TailtuneError, match="posthoc_tau=0.8 needs a bias") as err:
        export_run(run, "hf", tmp_path / "hf")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "hf").exists()  # nothing half-written
    report = export_run(run, "onnx", tmp_path / "onnx")
    assert report["onnx"]["posthoc_tau"] == 0.8
    assert report["agreement"]["max_abs_diff"] <= 1e-4
    assert report["agreement"]["top1_agreement"] == 1.0


# -- onnx -------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_onnx_encoder_agrees_with_pytorch(encoder_run, tmp_path, quantize):
    from tailtune.export import OnnxClassifier

    report = export_run(encoder_run, "onnx", tmp_path / "onnx", quantize=quantize)
    assert (tmp_path / "onnx" / "model.onnx").is_file()
    assert not (tmp_path / "onnx" / "model.fp32.onnx").exists()
    agree = report["agreement"]
    clf = OnnxClassifier(tmp_path / "onnx")
    want = predict_proba(encoder_run, PROBE)
    got = clf.predict_proba(PROBE)
    if quantize is None:
        assert agree["within_tolerance"] and agree["max_abs_diff"] <= 1e-4
        np.testing.assert_allclose(got, want, atol=1e-4)
        assert list(clf.predict(PROBE)) == list(load_backend(encoder_run / "model").predict(PROBE))
    else:
        assert agree["target_top1"] == 0.995
        assert agree["top1_agreement"] >= 0.95  # tiny random model; MiniLM figures in deploy.md
        assert np.abs(got - want).max() < 0.05  # int8 moves probabilities a little, not a lot


def test_onnx_decoder_lora(decoder_run, tmp_path):
    report = export_run(decoder_run, "onnx", tmp_path / "onnx")
    assert report["agreement"]["top1_agreement"] == 1.0
    assert report["agreement"]["max_abs_diff"] <= 1e-4


def test_onnx_embedding_head_is_encoder_pooling_and_head(embedding_run, tmp_path):
    from tailtune.export import OnnxClassifier

    report = export_run(embedding_run, "onnx", tmp_path / "onnx")
    assert report["onnx"]["posthoc_tau"] == 0.3
    assert report["agreement"]["max_abs_diff"] <= 1e-4
    want = predict_proba(embedding_run, PROBE)
    np.testing.assert_allclose(
        OnnxClassifier(tmp_path / "onnx").predict_proba(PROBE), want, atol=1e-4
    )


def test_onnx_of_a_tuned_body_traces_the_tuned_weights(tuned_body_run, tmp_path):
    from tailtune.export import OnnxClassifier

    report = export_run(tuned_body_run, "onnx", tmp_path / "onnx")
    assert report["agreement"]["max_abs_diff"] <= 1e-4
    got = OnnxClassifier(tmp_path / "onnx").predict_proba(PROBE)
    np.testing.assert_allclose(got, predict_proba(tuned_body_run, PROBE), atol=1e-4)
    assert list(Path(tuned_body_run).glob("**/body/config.json"))  # saved beside the head


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt,quantize,message",
    [
        ("hf", None, "hf: a TF-IDF run is not a transformers model"),
        ("onnx", None, "onnx: a TF-IDF run exports with --format sklearn"),
        ("sklearn", "int8", "--quantize applies to --format onnx"),
        ("pickle", None, "format 'pickle' is not one of hf, onnx, sklearn"),
    ],
)
def test_tfidf_refusals_are_one_line(tfidf_run, tmp_path, fmt, quantize, message):
    with pytest.raises(TailtuneError, match=message) as err:
        export_run(tfidf_run, fmt, tmp_path / "out", quantize=quantize)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["hf", "onnx", "sklearn"])
def test_ensemble_is_refused_by_every_format(ensemble_run, tmp_path, fmt):
    with pytest.raises(TailtuneError, match=f"{fmt}: an ensemble blends"):
        export_run(ensemble_run, fmt, tmp_path / "out")
    assert not list(tmp_path.glob(".out*"))  # the staging folder is gone too


def test_embedding_head_and_encoder_refusals(embedding_run, encoder_run, tmp_path):
    with pytest.raises(TailtuneError, match="hf: an embedding-head run pools"):
        export_run(embedding_run, "hf", tmp_path / "a")
    with pytest.raises(TailtuneError, match="sklearn: a encoder run is a neural model"):
        export_run(encoder_run, "sklearn", tmp_path / "b")


def test_a_non_empty_output_folder_is_never_overwritten(tfidf_run, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(TailtuneError, match="already exists and is not empty"):
        export_run(tfidf_run, "sklearn", tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"

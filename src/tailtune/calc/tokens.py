"""Token-count statistics of a dataset under a tokenizer, and the trainable-parameter : token ratio.

A common LoRA sizing heuristic compares trainable parameters with training tokens (61.3
parameters per token reads as "data insufficient") and takes 1 token per trainable parameter as a minimum and 1.5 as the optimum; we report the
same ratio, with the caveat that it is a rule of thumb from generative fine-tuning, not a law.
The truncated share at ``max_length`` tells how much text a classifier never reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tailtune._extras import require
from tailtune.errors import ConfigError

__all__ = ["TokenStats", "token_stats", "format_tokens"]


@dataclass(frozen=True)
class TokenStats:
    """The result of :func:`token_stats`; counts include the tokenizer's special tokens."""

    n_texts: int
    total_tokens: int
    mean: float
    p50: float
    p95: float
    max: int
    max_length: int | None
    truncated_share: float  # share of texts longer than max_length (0 when None)
    tokens_kept: int  # total after truncation at max_length (what training reads)
    trainable_params: int | None
    params_per_token: float | None  # trainable params / tokens kept (e.g. 61.3 : 1)
    tokens_min: int | None  # rule of thumb: 1 token per trainable parameter
    tokens_optimal: int | None  # rule of thumb: 1.5 tokens per trainable parameter

    def as_dict(self) -> dict:
        """A plain dict (for JSON output)."""
        return asdict(self)


def token_stats(
    texts: list[str],
    tokenizer: Any,
    max_length: int | None = None,
    trainable_params: int | None = None,
    batch_size: int = 1000,
) -> TokenStats:
    """Mean, p50/p95/max token counts, truncated share at ``max_length``, total tokens and the
    trainable-parameter : token ratio.

    ``tokenizer`` is a 🤗 tokenizer, a model name or directory (local files only), or any
    callable mapping one text to its list of tokens.
    """
    if not len(texts):
        raise ConfigError("calc tokens: no texts to count")
    if max_length is not None and max_length < 1:
        raise ConfigError(f"calc tokens: max_length must be positive, got {max_length}")
    lengths = _lengths(list(texts), _tokenizer(tokenizer), batch_size)
    kept = np.minimum(lengths, max_length) if max_length else lengths
    total_kept = int(kept.sum())
    ratio = trainable_params / total_kept if trainable_params and total_kept else None
    return TokenStats(
        n_texts=len(lengths),
        total_tokens=int(lengths.sum()),
        mean=float(lengths.mean()),
        p50=float(np.percentile(lengths, 50)),
        p95=float(np.percentile(lengths, 95)),
        max=int(lengths.max()),
        max_length=max_length,
        truncated_share=float((lengths > max_length).mean()) if max_length else 0.0,
        tokens_kept=total_kept,
        trainable_params=trainable_params,
        params_per_token=ratio,
        tokens_min=trainable_params if trainable_params else None,
        tokens_optimal=int(round(1.5 * trainable_params)) if trainable_params else None,
    )


def _tokenizer(tokenizer: Any) -> Any:
    if isinstance(tokenizer, str):
        transformers = require("transformers", "counting tokens")
        from tailtune.backends._hf import resolve_model_name

        try:
            return transformers.AutoTokenizer.from_pretrained(
                resolve_model_name(tokenizer), local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"tokenizer '{tokenizer}': not found locally (give a model directory or a "
                "model already in the Hugging Face cache)"
            ) from exc
    return tokenizer


def _lengths(texts: list[str], tokenizer: Any, batch_size: int) -> np.ndarray:
    if hasattr(tokenizer, "convert_tokens_to_ids"):  # a 🤗 tokenizer: batch it (fast, Rust)
        out: list[int] = []
        for i in range(0, len(texts), batch_size):
            ids = tokenizer(texts[i : i + batch_size], add_special_tokens=True)["input_ids"]
            out.extend(len(x) for x in ids)
        return np.asarray(out, dtype=np.int64)
    return np.asarray([len(tokenizer(t)) for t in texts], dtype=np.int64)


def format_tokens(stats: TokenStats) -> list[tuple[str, str]]:
    """(label, value) rows for a printed table."""
    rows = [
        ("texts", f"{stats.n_texts:,}"),
        ("tokens", f"{stats.total_tokens:,}"),
        (
            "mean / p50 / p95 / max",
            f"{stats.mean:.1f} / {stats.p50:g} / {stats.p95:g} / {stats.max}",
        ),
    ]
    if stats.max_length:
        rows += [
            (
                f"truncated at {stats.max_length}",
                f"{100 * stats.truncated_share:.1f}% of texts",
            ),
            ("tokens kept", f"{stats.tokens_kept:,}"),
        ]
    if stats.params_per_token is not None:
        rows += [
            ("trainable params : tokens", f"{stats.params_per_token:.1f} : 1"),
            (
                "token budget (rule of thumb)",
                f"min {stats.tokens_min:,} (1:1), optimal {stats.tokens_optimal:,} (1.5:1)",
            ),
        ]
    return rows

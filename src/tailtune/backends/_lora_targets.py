"""Which modules LoRA wraps: presets mapped per architecture, the head, Linear shapes.

One config (``targets: attention``) has to work on Qwen, Llama, Gemma, GPT-2 and BERT, whose
attention projections carry different names. Rather than a table keyed by ``model_type`` that
goes stale with each new family, we look at the module names the model actually has and take
the first known naming scheme that matches. Targets resolve to *full* module names so that an
ambiguous suffix (GPT-2's ``c_proj`` lives in attention and MLP; BERT's ``dense`` in both and
in RoBERTa's head) never wraps a module it should not; PEFT matches a full name exactly.
"""

from __future__ import annotations

import re
from typing import Any

from tailtune.errors import ConfigError

__all__ = [
    "PRESETS",
    "HEAD_NAMES",
    "linear_shapes",
    "head_modules",
    "resolve_targets",
    "module_type",
]

# Attention naming schemes, tried in order (first element must exist for a scheme to match).
_ATTENTION = [
    ("q_proj", "k_proj", "v_proj", "o_proj"),  # Llama, Qwen2/3, Mistral, Gemma, SmolLM
    ("attn.c_attn", "attn.c_proj"),  # GPT-2 (fused qkv, Conv1D)
    (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
    ),
    ("q_lin", "k_lin", "v_lin", "out_lin"),  # DistilBERT
    ("attn.Wqkv", "attn.Wo"),  # ModernBERT
    ("qkv_proj", "o_proj"),  # Phi-3
]
# Query/value only: the original LoRA paper's choice (Hu et al. 2021), also common for BERT.
_QV = [
    ("q_proj", "v_proj"),
    ("attn.c_attn",),
    ("attention.self.query", "attention.self.value"),
    ("q_lin", "v_lin"),
    ("attn.Wqkv",),
    ("qkv_proj",),
]
PRESETS = ("attention", "qv", "all-linear")
HEAD_NAMES = ("score", "classifier")
_NEVER = ("lm_head",)  # the LM output layer is not part of a classifier's adaptation


def linear_shapes(model: Any) -> dict[str, tuple[int, int]]:
    """``{module name: (d_in, d_out)}`` of every Linear-like leaf (nn.Linear, GPT-2 Conv1D).

    Reads ``in_features``/``out_features`` when present (also true of quantized Linear4bit,
    whose packed weight shape would mislead), else the Conv1D weight, stored (d_in, d_out).
    """
    torch = __import__("torch")
    out: dict[str, tuple[int, int]] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or hasattr(module, "in_features"):
            if hasattr(module, "in_features") and hasattr(module, "out_features"):
                out[name] = (int(module.in_features), int(module.out_features))
        elif type(module).__name__ == "Conv1D" and hasattr(module, "weight"):
            d_in, d_out = module.weight.shape
            out[name] = (int(d_in), int(d_out))
    return out


def head_modules(model: Any) -> list[str]:
    """Top-level child names of the classification head (``score`` or ``classifier``)."""
    return [name for name, _ in model.named_children() if name in HEAD_NAMES]


def resolve_targets(model: Any, targets: str | list[str]) -> list[str]:
    """Full names of the modules LoRA wraps for a preset or an explicit list of names.

    Presets: ``attention`` (q/k/v/o or the family's equivalent), ``qv`` (query and value),
    ``all-linear`` (every Linear outside the head and the LM output layer, as PEFT's own
    preset). An explicit name matches as PEFT matches it: equal, or a ``.``-suffix.
    """
    shapes = linear_shapes(model)
    skip = tuple(head_modules(model)) + _NEVER
    candidates = [n for n in shapes if n.split(".")[0] not in skip and n not in skip]
    if isinstance(targets, str) and targets == "all-linear":
        return candidates
    if isinstance(targets, str) and targets in ("attention", "qv"):
        for scheme in _ATTENTION if targets == "attention" else _QV:
            if any(_matches(n, scheme[0]) for n in candidates):
                return [n for n in candidates if any(_matches(n, s) for s in scheme)]
        raise ConfigError(
            f"model.lora.targets: preset '{targets}' does not know this architecture's attention "
            f"modules; list them explicitly (Linear modules: {_suffixes(candidates)})"
        )
    names = [targets] if isinstance(targets, str) else list(targets)
    chosen = [n for n in candidates if any(_matches(n, t) for t in names)]
    missing = [t for t in names if not any(_matches(n, t) for n in candidates)]
    if missing:
        raise ConfigError(
            f"model.lora.targets: {missing} match no Linear module of this model; expected a "
            f"preset ({', '.join(PRESETS)}) or names among: {_suffixes(candidates)}"
        )
    return chosen


def module_type(name: str) -> str:
    """The part of a module name after its layer index (``self_attn.q_proj``, ``mlp.c_proj``)."""
    match = re.search(r"\.(\d+)\.(.+)$", name)
    return match.group(2) if match else name


def layer_index(name: str) -> int | None:
    """The first integer component of a module name (its transformer block), if any."""
    match = re.search(r"\.(\d+)\.", f".{name}.")
    return int(match.group(1)) if match else None


def _matches(name: str, target: str) -> bool:
    return name == target or name.endswith("." + target)


def _suffixes(names: list[str]) -> str:
    return ", ".join(sorted({module_type(n) for n in names}))

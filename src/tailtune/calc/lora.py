"""Exact LoRA trainable-parameter counts from a model's config, on the meta device.

LoRA (Hu et al. 2021) adds ``B @ A`` beside a frozen ``d_in x d_out`` weight, with
``A: r x d_in`` and ``B: d_out x r``: ``r * (d_in + d_out)`` trainable parameters per wrapped
module. A common hand estimate shortcuts this to ``2 * d_model * r`` per attention module and
``2 * d_ff * r`` per MLP module; that overcounts whenever a projection is not square. On
Qwen3-8B, k/v project 4096 -> 1024 (8 KV heads x 128 under grouped-query attention) and the MLP
maps 4096 <-> 12288, so the exact count at r=16 over q/k/v/o/gate/up/down is 43,646,976, not
the shortcut's 61,341,696. The model is built with ``torch.device("meta")``: shapes, no memory.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailtune._extras import require
from tailtune.backends._lora_targets import (
    head_modules,
    layer_index,
    linear_shapes,
    module_type,
    resolve_targets,
)
from tailtune.errors import ConfigError

__all__ = ["LoraParamReport", "load_model_config", "lora_params", "format_lora"]


@dataclass
class LoraParamReport:
    """Trainable parameters of a LoRA setup, by module type, by layer and in total."""

    model_type: str
    rank: int
    targets: list[str]  # module types wrapped (the part of the name after the layer index)
    by_type: list[dict]  # {module, d_in, d_out, modules, per_module, total}
    per_layer: dict[int, int]  # layer index -> LoRA parameters in that layer
    num_layers: int
    lora_total: int
    head: int  # classification head parameters (0 when num_labels is None)
    trainable_total: int  # lora_total + head
    base_params: int  # parameters of the frozen model (head included)
    shortcut_total: int  # hand estimate: 2*d_model*r (attention), 2*d_ff*r (MLP) per module
    why_differ: str = field(default="")


def load_model_config(config_or_name: Any) -> Any:
    """A transformers config from a config object, a dict, a config.json, a directory, a GGUF
    file or a model name (local files only: calculators never download)."""
    transformers = require("transformers", "the LoRA calculator")
    if isinstance(config_or_name, transformers.PretrainedConfig):
        return copy.deepcopy(config_or_name)
    if isinstance(config_or_name, dict):
        return _config_from_dict(dict(config_or_name), "config")
    path = Path(str(config_or_name))
    if path.suffix == ".json" and path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: not a JSON file ({_first_line(exc)})") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a JSON object (a transformers config.json)")
        return _config_from_dict(raw, str(path))
    from tailtune.backends._hf import resolve_source  # .gguf paths, the SmolLM2 name

    # the calculator reads configs only, from disk: no check that the Hub could serve the model
    source, gguf = resolve_source(str(config_or_name), check=False)
    if gguf:
        try:
            return transformers.AutoConfig.from_pretrained(source, gguf_file=gguf)
        except ImportError:
            raise  # the gguf package missing: transformers' own message names it
        except Exception as exc:  # transformers' GGUF reader raises many kinds on a bad file
            raise ConfigError(
                f"{Path(source) / gguf}: not a GGUF model transformers can read "
                f"({_first_line(exc)})"
            ) from exc
    try:
        return transformers.AutoConfig.from_pretrained(str(config_or_name), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"model '{config_or_name}': no local config found (give a config.json, a model "
            "directory, a .gguf file or a model already in the Hugging Face cache)"
        ) from exc


def _config_from_dict(raw: dict, where: str) -> Any:
    transformers = require("transformers")
    model_type = raw.pop("model_type", None)
    if not model_type:
        raise ConfigError(f"{where}: no 'model_type' field; expected a transformers config.json")
    try:
        return transformers.AutoConfig.for_model(model_type, **raw)
    except ImportError:
        raise
    except Exception as exc:  # transformers and huggingface_hub validate with their own kinds
        raise ConfigError(
            f"{where}: not a config transformers can read ({_first_line(exc)})"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def lora_params(
    config_or_name: Any, rank: int, targets: str | list[str], num_labels: int | None = None
) -> LoraParamReport:
    """Count the trainable parameters of LoRA rank ``rank`` on ``targets`` (a preset —
    attention, qv, all-linear — or module names), plus a ``num_labels`` classification head."""
    if rank < 1:
        raise ConfigError(f"calc lora: rank must be a positive integer, got {rank}")
    torch = require("torch", "the LoRA calculator")
    transformers = require("transformers", "the LoRA calculator")
    cfg = load_model_config(config_or_name)
    cfg.num_labels = num_labels or 2
    with torch.device("meta"):
        try:
            model = transformers.AutoModelForSequenceClassification.from_config(cfg)
        except ValueError:  # an architecture without a sequence-classification class
            model = transformers.AutoModel.from_config(cfg)
    names = resolve_targets(model, targets)
    shapes = linear_shapes(model)
    by_type: OrderedDict[str, dict] = OrderedDict()
    per_layer: dict[int, int] = {}
    for name in names:
        d_in, d_out = shapes[name]
        n = rank * (d_in + d_out)
        row = by_type.setdefault(
            module_type(name),
            {"module": module_type(name), "d_in": d_in, "d_out": d_out, "modules": 0, "total": 0},
        )
        row["modules"] += 1
        row["total"] += n
        row["per_module"] = n
        idx = layer_index(name)
        if idx is not None:
            per_layer[idx] = per_layer.get(idx, 0) + n
    head = 0
    if num_labels:
        head = sum(p.numel() for h in head_modules(model) for p in getattr(model, h).parameters())
    lora_total = sum(r["total"] for r in by_type.values())
    return LoraParamReport(
        model_type=cfg.model_type,
        rank=rank,
        targets=list(by_type),
        by_type=list(by_type.values()),
        per_layer=per_layer,
        num_layers=len(per_layer),
        lora_total=lora_total,
        head=head,
        trainable_total=lora_total + head,
        base_params=sum(p.numel() for p in model.parameters()),
        shortcut_total=_shortcut(cfg, list(by_type.values()), rank),
        why_differ=_why(cfg, list(by_type.values())),
    )


def _shortcut(cfg: Any, rows: list[dict], rank: int) -> int:
    """The hand estimate: 2·d_model·r per attention module, 2·d_ff·r per MLP module."""
    d_model = _hidden(cfg)
    d_ff = _ffn(cfg)
    return sum(
        r["modules"] * 2 * rank * (d_ff if _is_mlp(r["module"], d_model, d_ff, r) else d_model)
        for r in rows
    )


def _is_mlp(module: str, d_model: int, d_ff: int, row: dict) -> bool:
    # A module is "MLP" for the shortcut when it lives in the MLP block or touches d_ff.
    return "mlp" in module.lower() or d_ff in (row["d_in"], row["d_out"])


def _hidden(cfg: Any) -> int:
    for key in ("hidden_size", "n_embd", "d_model", "dim"):
        if getattr(cfg, key, None):
            return int(getattr(cfg, key))
    raise ConfigError("calc lora: the config has no hidden size (hidden_size, n_embd, d_model)")


def _ffn(cfg: Any) -> int:
    for key in ("intermediate_size", "n_inner", "ffn_dim", "hidden_dim"):
        if getattr(cfg, key, None):
            return int(getattr(cfg, key))
    return 4 * _hidden(cfg)  # GPT-2's n_inner=None means 4 x n_embd


def _why(cfg: Any, rows: list[dict]) -> str:
    non_square = [r["module"] for r in rows if r["d_in"] != r["d_out"]]
    if not non_square:
        return "every wrapped projection is square (d_in = d_out = d_model), so both counts agree"
    return (
        "LoRA on a d_in x d_out matrix trains r·(d_in + d_out) parameters; the shortcut assumes "
        f"2·d_model·r or 2·d_ff·r, which is wrong for the non-square {', '.join(non_square)}"
        + (
            f" (k/v project to {cfg.num_key_value_heads} KV heads x "
            f"{_head_dim(cfg)} = {cfg.num_key_value_heads * _head_dim(cfg)} under grouped-query "
            "attention)"
            if getattr(cfg, "num_key_value_heads", None)
            and cfg.num_key_value_heads != getattr(cfg, "num_attention_heads", None)
            else ""
        )
    )


def _head_dim(cfg: Any) -> int:
    return int(getattr(cfg, "head_dim", None) or _hidden(cfg) // cfg.num_attention_heads)


def format_lora(report: LoraParamReport) -> list[tuple[str, ...]]:
    """Rows for a printed table: one per module type, then per-layer, LoRA, head, totals."""
    rows: list[tuple[str, ...]] = [("module", "d_in x d_out", "modules", "each", "total")]
    for r in report.by_type:
        rows.append(
            (
                r["module"],
                f"{r['d_in']} x {r['d_out']}",
                str(r["modules"]),
                f"{r['per_module']:,}",
                f"{r['total']:,}",
            )
        )
    per_layer = set(report.per_layer.values())
    layer_text = f"{per_layer.pop():,}" if len(per_layer) == 1 else "varies"
    rows += [
        ("per layer", "", str(report.num_layers), layer_text, ""),
        ("LoRA total", "", "", "", f"{report.lora_total:,}"),
        ("head", "", "", "", f"{report.head:,}"),
        ("trainable total", "", "", "", f"{report.trainable_total:,}"),
        (
            "share of model",
            "",
            "",
            "",
            f"{100 * report.trainable_total / max(report.base_params, 1):.3f}%",
        ),
        ("2·d·r shortcut", "", "", "", f"{report.shortcut_total:,}"),
    ]
    return rows

"""Calculators behind ``tailtune calc``: LoRA parameters, training steps, token statistics.

``steps`` is pure Python; ``lora`` and ``tokens`` import torch/transformers only when called.
"""

from tailtune.calc.lora import LoraParamReport, format_lora, load_model_config, lora_params
from tailtune.calc.steps import StepPlan, format_steps, training_steps
from tailtune.calc.tokens import TokenStats, format_tokens, token_stats

__all__ = [
    "LoraParamReport",
    "lora_params",
    "load_model_config",
    "format_lora",
    "StepPlan",
    "training_steps",
    "format_steps",
    "TokenStats",
    "token_stats",
    "format_tokens",
]

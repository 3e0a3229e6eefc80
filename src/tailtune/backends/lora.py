"""``LoraSettings``: PEFT LoRA settings of the ``decoder_lora`` backend (config ``model.lora``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tailtune._settings import check_choices
from tailtune.errors import ConfigError

__all__ = ["LoraSettings"]


@dataclass
class LoraSettings:
    """LoRA adapters (Hu et al. 2021) and the optional 4/8-bit base of QLoRA (Dettmers et al. 2023)."""

    r: int = 16
    """Rank of the LoRA update matrices."""
    alpha: int = 32
    """LoRA scaling numerator: the update is scaled by alpha / r."""
    dropout: float = 0.05
    """Dropout on the LoRA input, in [0, 1)."""
    bias: Literal["none", "all", "lora_only"] = "none"
    """Which biases train alongside the adapters."""
    targets: str | list[str] = "attention"
    """Wrapped modules: attention | all-linear | qv | a list of module names."""
    quantization: Literal["none", "4bit", "8bit"] = "none"
    """Quantize the frozen base (bitsandbytes NF4 / int8; CUDA only)."""
    merge_on_save: bool = False
    """Save the adapter merged into the base weights (a plain model, no PEFT needed to serve)."""
    gguf_file: str | None = None
    """Read the base model from this GGUF file inside the model folder."""

    def validate(self, where: str = "model.lora") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.r < 1:
            raise ConfigError(f"{where}.r: got {self.r}, expected at least 1")
        if self.alpha <= 0:
            raise ConfigError(f"{where}.alpha: got {self.alpha}, expected a positive number")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{where}.dropout: got {self.dropout}, expected a value in [0, 1)")
        if isinstance(self.targets, list) and not self.targets:
            raise ConfigError(f"{where}.targets: got [], expected a preset or module names")

"""``ObjectiveSettings``: the long-tail levers of a run, one documented, self-validating dataclass.

The config section ``objective:`` maps onto it field by field; every backend that reads it takes
it whole (``EncoderBackend(objective=ObjectiveSettings(loss="focal"))``) and says which fields it reads
(``fields_in_use``: TF-IDF, say, reads the class weights and post-hoc τ, not the loss). Adding a lever is one edit here (plus the code that uses it): the config file, ``--set``,
``tailtune config show`` and ``backend.json`` follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tailtune._settings import check_choices
from tailtune.errors import ConfigError

__all__ = ["ObjectiveSettings", "WORKFLOW_FIELDS"]

WeightScheme = Literal["none", "sqrt_inverse", "inverse", "effective_number"]

WORKFLOW_FIELDS = frozenset({"label_name_examples", "label_descriptions"})
"""Fields the workflow applies to the training data before any backend sees it."""


@dataclass
class ObjectiveSettings:
    """Long-tail levers shared by every backend: loss, class weights, sampling, logit adjustment."""

    loss: Literal["ce", "focal", "logit_adjusted"] = "ce"
    """Training loss: cross-entropy, focal (Lin et al. 2017) or logit-adjusted (Menon et al. 2021)."""
    class_weights: WeightScheme = "none"
    """Per-class weights from training counts (effective_number: Cui et al. 2019)."""
    beta: float = 0.999
    """β of the effective-number weights (Cui et al. 2019), in (0, 1)."""
    weight_cap: float | None = None
    """Clip class weights (after normalization to mean 1) at this value; null = no cap."""
    label_smoothing: float = 0.0
    """ε of label smoothing (Szegedy et al. 2016), in [0, 1); not with focal loss."""
    focal_gamma: float = 2.0
    """γ of the focal loss (Lin et al. 2017); class weights serve as its α."""
    logit_adjust_tau: float = 1.0
    """τ of the logit-adjusted loss (Menon et al. 2021)."""
    posthoc_tau: float = 0.0
    """τ of post-hoc logit adjustment at prediction time, log p − τ log prior (0 = none)."""
    tune_posthoc_tau: bool = False
    """Choose posthoc_tau on validation macro F1 (the chosen τ is kept in the saved model)."""
    sampler: Literal["none", "class_balanced", "sqrt"] = "none"
    """Class-aware sampling of training batches (neural backends; Kang et al. 2020)."""
    sampler_epoch_size: int | None = None
    """Examples drawn per epoch by the sampler; null = the training size."""
    label_name_examples: int = 0
    """Add each class's name (or description) as this many training texts (the workflow does)."""
    label_descriptions: str | None = None
    """YAML/JSON file of {label: description} used for those texts instead of the names."""
    posthoc_tau_max: float = 2.0
    """Largest τ tried (steps of 0.1 from 0) when tune_posthoc_tau chooses τ on validation."""
    set_loss: Literal["bce", "focal", "asl", "db"] = "bce"
    """Loss over label sets (data.multi_label: sets): binary cross-entropy, sigmoid focal,
    asymmetric (Ridnik et al. 2021) or distribution-balanced (Wu et al. 2020); class_weights
    then weight each label's positive term (bce, focal)."""
    tune_thresholds: bool = True
    """Label sets: per-label thresholds tuned on validation F1 (false: 0.5 for every label)."""
    threshold_shrink: float = 10.0
    """Label sets: shrink a label's tuned threshold towards the global one by n / (n + k),
    n = its validation positives, k = this value (0 = no shrinkage)."""
    max_labels: int | None = None
    """Label sets: predict at most this many labels per text (top-k); null = no cap."""
    at_least_one: bool = False
    """Label sets: a text whose scores clear no threshold gets its most likely label."""

    def validate(self, where: str = "objective") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(
                f"{where}.label_smoothing: got {self.label_smoothing}, expected a value in [0, 1)"
            )
        if not 0 < self.beta < 1:
            raise ConfigError(f"{where}.beta: got {self.beta}, expected a value in (0, 1)")
        if self.weight_cap is not None and self.weight_cap <= 0:
            raise ConfigError(
                f"{where}.weight_cap: got {self.weight_cap}, expected a positive number"
            )
        if self.focal_gamma < 0:
            raise ConfigError(f"{where}.focal_gamma: got {self.focal_gamma}, expected 0 or more")
        if self.sampler_epoch_size is not None and self.sampler_epoch_size < 1:
            raise ConfigError(
                f"{where}.sampler_epoch_size: got {self.sampler_epoch_size}, expected at least 1"
            )
        if self.label_name_examples < 0:
            raise ConfigError(
                f"{where}.label_name_examples: got {self.label_name_examples}, expected 0 or more"
            )
        self._validate_sets(where)
        if not 0 <= self.posthoc_tau_max <= 10:
            raise ConfigError(
                f"{where}.posthoc_tau_max: got {self.posthoc_tau_max}, expected a value in [0, 10]"
            )

    def _validate_sets(self, where: str) -> None:
        if self.threshold_shrink < 0:
            raise ConfigError(
                f"{where}.threshold_shrink: got {self.threshold_shrink}, expected 0 or more"
            )
        if self.max_labels is not None and self.max_labels < 1:
            raise ConfigError(f"{where}.max_labels: got {self.max_labels}, expected at least 1")

    def tau_grid(self) -> list[float]:
        """The τ values tried by tune_posthoc_tau: 0, 0.1, ... up to posthoc_tau_max."""
        steps = int(round(self.posthoc_tau_max * 10))
        return [round(i / 10, 10) for i in range(steps + 1)]

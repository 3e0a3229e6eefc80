"""What the three neural backends share: the loop's settings, checkpoints, frozen choices."""

from __future__ import annotations

import dataclasses

import numpy as np

from tailtune._extras import require
from tailtune.backends.base import BackendBase
from tailtune.objectives.settings import ObjectiveSettings
from tailtune.training.settings import TrainSettings

__all__ = ["NeuralBackend", "output_layers"]


class NeuralBackend(BackendBase):
    """Base of the encoder, embedding-head and LoRA backends (objective + train settings)."""

    settings: dict[str, type] = {"objective": ObjectiveSettings, "train": TrainSettings}
    uses_gpu = True
    export_forms = {"hf": "classifier", "onnx": "classifier"}

    def export_refusal(self, fmt: str) -> str | None:
        if fmt == "sklearn":
            return f"a {self.name} run is a neural model; use --format hf or onnx"
        return super().export_refusal(fmt)

    def loop_settings(self) -> TrainSettings:
        """The training loop's settings: ``train`` plus the run's seed and the sampler."""
        return dataclasses.replace(
            self.train,
            seed=self.seed,
            sampler=self.objective.sampler,
            sampler_epoch_size=self.objective.sampler_epoch_size,
        )

    def _objective_kwargs(self, y) -> dict:
        """What ``fit_classifier`` takes from the objective, for the encoded labels ``y``: the
        loss over the class counts (for label sets one sigmoid per label, with the set metrics
        early stopping follows), the class count and the metrics function (None: macro F1)."""
        from tailtune.training.objective import make_loss, make_set_loss, set_metrics_fn

        k = len(self.classes_)
        if self.space_.kind == "multi":
            loss, metrics_fn = make_set_loss(y, self.objective), set_metrics_fn(
                self.objective, self.classes_)  # fmt: skip
        else:
            loss, metrics_fn = make_loss(np.bincount(y, minlength=k), self.objective), None
        return {"loss_fn": loss, "num_classes": k, "metrics_fn": metrics_fn}

    def _start_at_label_priors(self, model, y, prefixes: tuple[str, ...]) -> bool:
        """For label sets, start the bias of ``model``'s output layer (a linear layer under a
        module named with one of ``prefixes``, with one output per label) at the labels' prior
        log-odds (:meth:`_prior_logits`). False where there is no such bias (a decoder's
        ``score`` layer has none): the model then learns the priors itself."""
        if self.space_.kind != "multi":
            return False
        torch = require("torch")
        outs = [m for m in output_layers(model, y.shape[1], prefixes) if m.bias is not None]
        if not outs:
            return False
        start = self._prior_logits(y)
        with torch.no_grad():
            for out in outs:
                out.bias.copy_(torch.as_tensor(start, dtype=out.bias.dtype))
        return True

    def _prior_logits(self, y) -> np.ndarray:
        """Each label's prior log-odds in the training 0/1 matrix ``y``, under the positive
        weights the loss uses (:func:`tailtune.backends._sets.prior_log_odds`)."""
        from tailtune.backends._sets import prior_log_odds
        from tailtune.training.objective import set_positive_weights

        return prior_log_odds(y, set_positive_weights(y, self.objective))

    def load_checkpoint(self, path) -> None:
        """Put the weights of a training checkpoint (a ``model.pt`` the loop wrote) into this
        fitted backend, in place. Classes, prior, τ and temperature stay the fitted run's: a
        checkpoint holds the trained module's tensors only."""
        from pathlib import Path

        from tailtune.training.checkpoints import load_weights

        module = self._checkpoint_module()
        module.load_state_dict(load_weights(Path(path)))
        module.eval()

    def _checkpoint_module(self):
        """The torch module the training loop trained (whose state dict the checkpoints hold)."""
        raise NotImplementedError

    def frozen_params(self) -> dict:
        """Params that pin what ``fit`` chose on validation data: τ and the length of training
        early stopping picked."""
        out = super().frozen_params()
        best = self.info_.get("best_step")
        if best:
            out.update({"train__max_steps": int(best), "train__patience": None})
        return out


def output_layers(model, k: int, prefixes: tuple[str, ...]) -> list:
    """The linear layers of ``model`` with ``k`` outputs under a module named with one of
    ``prefixes``: the classification head's output layer, and under PEFT both the original and
    the trained copy it keeps beside it."""
    torch = require("torch")
    return [
        m for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and m.out_features == k
        and any(p in name.split(".") for p in prefixes)
    ]  # fmt: skip

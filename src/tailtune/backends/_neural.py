"""What the three neural backends share: settings from flat keywords, the loop's settings,
post-hoc τ, and the old flat ``params`` view."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from tailtune.backends.base import BackendBase, split_flat
from tailtune.objectives.settings import Objective
from tailtune.training.settings import TrainSettings

__all__ = ["NeuralBackend", "known_rows"]


class NeuralBackend(BackendBase):
    """Base of the encoder, embedding-head and LoRA backends (objective + train settings)."""

    # argument name -> (settings class, flat-keyword prefix); the order resolves shared names
    settings: dict[str, type] = {"objective": Objective, "train": TrainSettings}
    prefixes: dict[str, str] = {}

    def _init_settings(self, flat: dict[str, Any], **given: Any) -> None:
        """Store each settings argument (a validated copy), with flat keywords routed into it:
        ``EncoderBackend(lr=1e-3)`` is ``EncoderBackend(train=TrainSettings(lr=1e-3))``."""
        spec = {
            arg: (cls, given.get(arg), self.prefixes.get(arg, ""))
            for arg, cls in self.settings.items()
        }
        for arg, value in split_flat(self.name, flat, spec).items():
            setattr(self, arg, value)

    def loop_settings(self) -> TrainSettings:
        """The training loop's settings: ``train`` plus the run's seed and the sampler."""
        return dataclasses.replace(
            self.train,
            seed=self.seed,
            sampler=self.objective.sampler,
            sampler_epoch_size=self.objective.sampler_epoch_size,
        )

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

    @property
    def posthoc_tau(self) -> float:
        """τ of post-hoc logit adjustment applied in ``predict_proba`` (0 = none)."""
        return float(self.objective.posthoc_tau)

    def _record_tau(self, probs: np.ndarray, gold: np.ndarray) -> None:
        """Choose τ on validation when asked; the choice is kept in ``objective.posthoc_tau``
        (so a clone of the fitted backend predicts with it)."""
        from tailtune.training.objective import tuned_tau

        if self.objective.tune_posthoc_tau and len(gold):
            tau = tuned_tau(probs, gold, self.prior_, self.objective.tau_grid())
            self.objective = dataclasses.replace(self.objective, posthoc_tau=tau)
        self.info_["posthoc_tau"] = self.posthoc_tau

    def frozen_params(self) -> dict:
        """Params that pin what ``fit`` chose on validation data: τ (already recorded in
        ``objective.posthoc_tau``) and the length of training early stopping picked."""
        out: dict = {"objective__tune_posthoc_tau": False}
        best = self.info_.get("best_step")
        if best:
            out.update({"train__max_steps": int(best), "train__patience": None})
        return out

    @property
    def params(self) -> MutableMapping[str, Any]:
        """Every settings field under its flat name (``params["lr"]``), read and write."""
        return _FlatParams(self)


class _FlatParams(MutableMapping):
    """A live flat view of a neural backend's settings (the pre-settings ``params`` dict)."""

    def __init__(self, backend: NeuralBackend):
        self._b = backend

    def _locate(self, key: str) -> tuple[Any, str]:
        for arg in self._b.settings:
            prefix = self._b.prefixes.get(arg, "")
            obj = getattr(self._b, arg)
            name = key[len(prefix) :] if key.startswith(prefix) else None
            if name is not None and name in {f.name for f in dataclasses.fields(obj)}:
                return obj, name
        raise KeyError(key)

    def _keys(self) -> list[str]:
        keys: list[str] = []
        for arg in self._b.settings:
            prefix = self._b.prefixes.get(arg, "")
            for f in dataclasses.fields(getattr(self._b, arg)):
                if prefix + f.name not in keys:
                    keys.append(prefix + f.name)
        return keys

    def __getitem__(self, key: str) -> Any:
        obj, name = self._locate(key)
        return getattr(obj, name)

    def __setitem__(self, key: str, value: Any) -> None:
        obj, name = self._locate(key)
        setattr(obj, name, value)

    def __delitem__(self, key: str) -> None:
        raise TypeError("settings fields cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


def known_rows(eval_set, classes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Validation rows whose label occurs in training (others cannot be scored by index)."""
    texts, labels = eval_set
    labels = np.asarray(labels, dtype=object).astype(str)
    keep = np.isin(labels, classes)
    return [t for t, k in zip(texts, keep, strict=True) if k], labels[keep]

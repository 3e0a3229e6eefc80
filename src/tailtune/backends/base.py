"""The backend contract in one place: the ``Backend`` protocol, params, ``clone``.

As in scikit-learn's ``base.py``: a backend's constructor arguments are its *params* — stored
as given, read back by ``get_params`` (from the ``__init__`` signature), changed by
``set_params``; learned state ends in ``_``. ``clone(backend)`` is an unfitted copy with equal
params, so "refit on all the data with every choice frozen" is ``clone(fitted).fit(all)``: a
post-hoc τ chosen on validation is recorded in the params (``posthoc_tau``) and kept by the clone.
Settings dataclasses count as params; ``set_params(objective__posthoc_tau=1.0)`` reaches inside.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tailtune._settings import from_kwargs
from tailtune.errors import ConfigError, DataError

__all__ = [
    "Backend",
    "BackendBase",
    "check_fit_input",
    "clone",
    "freeze",
    "decode_params",
    "encode_params",
    "is_backend",
    "split_flat",
]


@runtime_checkable
class Backend(Protocol):
    """What every backend offers (docs/architecture.md, "The backend contract")."""

    name: str
    classes_: np.ndarray
    history_: list[dict]
    info_: dict

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Backend: ...

    def fit(self, texts, labels, eval_set=None, work_dir=None) -> Backend: ...

    def predict_proba(self, texts) -> np.ndarray: ...

    def predict(self, texts) -> np.ndarray: ...

    def save(self, path: str | Path) -> None: ...


def is_backend(value: Any) -> bool:
    """A built backend (not a class, not a settings dataclass)."""
    return not isinstance(value, type) and hasattr(value, "get_params") and hasattr(value, "fit")


class BackendBase:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature.

    A subclass stores every constructor argument under its own name and nothing else in
    ``__init__``; ``settings`` maps argument names to their settings dataclass (for
    ``backend.json`` and for flat keyword arguments).
    """

    name = "backend"
    settings: dict[str, type] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments; with ``deep``, also ``arg__field`` of settings and sub-backends."""
        out: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            out[name] = value
            if not deep:
                continue
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                for f in dataclasses.fields(value):
                    out[f"{name}__{f.name}"] = getattr(value, f.name)
            elif is_backend(value):
                for key, sub in value.get_params(deep=True).items():
                    out[f"{name}__{key}"] = sub
        return out

    def set_params(self, **params: Any):
        """Set constructor arguments (``objective__posthoc_tau=...`` sets one settings field)."""
        names = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, _, rest = key.partition("__")
            if head not in names:
                raise ConfigError(
                    f"{self.name} backend: unknown parameter '{head}'; allowed: {', '.join(names)}"
                )
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                setattr(self, head, value)
        for head, sub in nested.items():
            current = getattr(self, head)
            if is_backend(current):
                current.set_params(**sub)
            elif dataclasses.is_dataclass(current):
                fields = {**{f.name: getattr(current, f.name) for f in dataclasses.fields(current)}}
                fields.update(sub)
                setattr(self, head, from_kwargs(type(current), fields))
            else:
                raise ConfigError(f"{self.name} backend: '{head}' has no fields to set")
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


def clone(backend: Any) -> Any:
    """An unfitted copy of ``backend`` with equal params (scikit-learn's ``clone``).

    Sub-backends (a cascade's stages, an ensemble's members) are cloned in turn; settings and
    other values are deep-copied, so the copy shares nothing mutable with the original.
    """
    params = backend.get_params(deep=False)
    return type(backend)(**{k: _clone_value(v) for k, v in params.items()})


def freeze(backend: Any) -> Any:
    """An unfitted clone of a *fitted* backend whose params pin every choice ``fit`` made on
    validation data — post-hoc τ, the SVM temperature, the number of steps early stopping
    picked, an ensemble's blend weights — so that refitting it on train + validation (with no
    eval_set) repeats the same recipe on more data. A backend without such choices
    (``frozen_params`` absent) is simply cloned."""
    overrides = backend.frozen_params() if hasattr(backend, "frozen_params") else {}
    return clone(backend).set_params(**overrides)


def _clone_value(value: Any) -> Any:
    if is_backend(value):
        return clone(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_value(v) for v in value)
    return copy.deepcopy(value)


def split_flat(
    backend: str, flat: dict[str, Any], settings: dict[str, tuple[type, Any, str]]
) -> dict[str, Any]:
    """Route flat keyword arguments (``lr=1e-3``, ``lora_r=8``) into settings objects.

    ``settings`` maps an argument name to ``(class, current value or None, prefix)``: a flat key
    ``prefix + field`` of that class lands there (the first match wins, in order). Returns the
    built settings objects; an unknown key is a ConfigError naming the backend.
    """
    buckets: dict[str, dict[str, Any]] = {arg: {} for arg in settings}
    unknown = []
    for key, value in flat.items():
        for arg, (cls, _, prefix) in settings.items():
            names = {f.name for f in dataclasses.fields(cls)}
            if key.startswith(prefix) and key[len(prefix) :] in names:
                buckets[arg][key[len(prefix) :]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ConfigError(f"{backend} backend: unknown parameter(s) {', '.join(sorted(unknown))}")
    out = {}
    for arg, (cls, current, _) in settings.items():
        base = current if current is not None else cls()
        values = {f.name: getattr(base, f.name) for f in dataclasses.fields(cls)}
        out[arg] = from_kwargs(cls, {**values, **buckets[arg]})
    return out


def encode_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as JSON values: settings dataclasses become plain dicts."""
    return {
        k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
        for k, v in params.items()
    }


def decode_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`encode_params` for backend class ``cls`` (strict: unknown keys fail)."""
    out = dict(params)
    for arg, settings_cls in getattr(cls, "settings", {}).items():
        if isinstance(out.get(arg), dict):
            out[arg] = from_kwargs(settings_cls, out[arg])
    return out


def check_fit_input(texts: Sequence[str], labels: Sequence[str], eval_set=None) -> None:
    """One clear DataError for inputs no backend can train on."""
    n_texts, n_labels = len(texts), len(labels)
    if n_texts == 0:
        raise DataError("fit: no training texts (the training split is empty)")
    if n_texts != n_labels:
        raise DataError(f"fit: {n_texts} texts but {n_labels} labels; expected one label per text")
    if eval_set is not None:
        if len(eval_set) != 2:
            raise DataError("fit: eval_set must be a pair (texts, labels)")
        vt, vl = eval_set
        if len(vt) != len(vl):
            raise DataError(
                f"fit: eval_set has {len(vt)} texts but {len(vl)} labels; expected one per text"
            )

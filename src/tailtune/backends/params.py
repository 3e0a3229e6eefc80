"""Backend params as scikit-learn's ``base.py`` treats them: ``clone``, ``freeze``, flat keywords.

A backend's constructor arguments are its params (settings dataclasses and sub-backends
included). ``clone`` is an unfitted copy with equal params; ``freeze`` is the clone whose params
pin what ``fit`` chose on validation, so "refit on all the data with every choice frozen" is
``freeze(fitted).fit(all)``. ``split_flat`` routes flat keywords (``C=2.0``, ``lora_r=8``) into
settings objects; ``encode_params``/``decode_params`` are the JSON form ``backend.json`` holds.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from tailtune._settings import from_kwargs
from tailtune.errors import ConfigError

__all__ = [
    "clone",
    "decode_params",
    "encode_params",
    "freeze",
    "is_backend",
    "merge_in_use",
    "split_flat",
]


def is_backend(value: Any) -> bool:
    """A built backend (not a class, not a settings dataclass)."""
    return not isinstance(value, type) and hasattr(value, "get_params") and hasattr(value, "fit")


def merge_in_use(*parts: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """The union of several ``settings_in_use`` maps (a composite's and its stages')."""
    out: dict[str, frozenset[str]] = {}
    for part in parts:
        for section, names in part.items():
            out[section] = out.get(section, frozenset()) | names
    return out


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

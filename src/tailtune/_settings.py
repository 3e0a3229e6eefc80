"""What every settings dataclass shares: field docs, checks, construction from keywords or YAML.

Each component owns one dataclass of its settings (``training.TrainSettings``,
``objectives.ObjectiveSettings``, ``backends.lora.LoraSettings`` ...). A field is documented by a string
literal right after it (an *attribute docstring*, as in litgpt's ``args.py``), which
:func:`tailtune.config_docs.field_docs` reads for ``tailtune config show``; a field whose
metadata has ``yaml=False`` is set at run time by the component itself and never appears in a
config file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import inspect
import math
import types
import typing
from typing import Any, Literal, Union

from tailtune.errors import ConfigError

__all__ = [
    "RUNTIME",
    "check_choices",
    "deep_merge",
    "from_dict",
    "from_kwargs",
    "to_dict",
    "unknown_key",
    "yaml_fields",
]

RUNTIME = {"yaml": False}
"""Field metadata of a setting that the component fills in itself (not part of a config file)."""


def yaml_fields(cls_or_obj: Any) -> list[dataclasses.Field]:
    """The fields a config file may set, in declaration order."""
    return [f for f in dataclasses.fields(cls_or_obj) if f.metadata.get("yaml", True)]


def _choices(tp: Any) -> tuple | None:
    """The allowed values of a ``Literal`` (or optional ``Literal``) annotation, else None."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return typing.get_args(tp)
    if origin in (Union, types.UnionType):
        out: list = []
        for arg in typing.get_args(tp):
            if arg is type(None):
                out.append(None)
                continue
            inner = _choices(arg)
            if inner is None:
                return None
            out.extend(inner)
        return tuple(out)
    return None


def check_choices(obj: Any, where: str) -> None:
    """Raise ConfigError for a field outside the values its ``Literal`` annotation allows."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        allowed = _choices(hints[f.name])
        value = getattr(obj, f.name)
        if allowed is not None and value not in allowed:
            raise not_a_choice(value, allowed, f"{where}.{f.name}" if where else f.name)


def not_a_choice(value: Any, allowed: tuple, where: str) -> ConfigError:
    """The error for a value outside a ``Literal``'s choices, with a "did you mean" hint."""
    shown = ", ".join("null" if a is None else str(a) for a in allowed)
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"{where}: got {_show(value)}, expected one of: {shown}{hint}")


def unknown_key(key: str, names: list[str], where: str, kind: str = "config") -> ConfigError:
    """The error for a key that is no field of ``names``, with a "did you mean" hint; ``kind``
    names the file the key is in (a config, an experiment ...)."""
    dotted = f"{where}.{key}" if where else str(key)
    close = difflib.get_close_matches(str(key), names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(names)}"
    return ConfigError(f"unknown {kind} field '{dotted}'{hint}")


def from_kwargs(cls: type, kwargs: dict[str, Any], where: str | None = None) -> Any:
    """``cls(**kwargs)`` validated; an unknown keyword is a ConfigError, never dropped.

    ``where`` is the dotted config section named in errors (default: the class's own, the
    default of its ``validate``)."""
    if where is None:
        where = inspect.signature(cls.validate).parameters["where"].default
    names = [f.name for f in dataclasses.fields(cls)]
    for key in kwargs:
        if key not in names:
            raise unknown_key(key, names, where)
    obj = cls(**kwargs)
    obj.validate(where)
    return obj


# ---------------------------------------------------------------------------------------------
# plain dicts (parsed YAML) <-> settings dataclasses


def from_dict(raw: dict[str, Any] | None, cls: type, where: str = "", kind: str = "config") -> Any:
    """Build a (nested) settings dataclass from a plain dict (parsed YAML): every key must be a
    config-file field, every value is coerced to the field's type, and each dataclass built is
    validated (``validate(where)``). ``kind`` names the file in the unknown-key error."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or kind}: expected a mapping, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in yaml_fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in names:
            raise unknown_key(key, names, where, kind)
        kwargs[key] = _coerce(value, hints[key], dotted, kind)
    obj = cls(**kwargs)
    obj.validate(where)
    return obj


def _coerce(value: Any, tp: Any, where: str, kind: str = "config") -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(value, tp, where, kind)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where, kind)
            except ConfigError:
                pass  # the next type may take it; the error below names them all
        allowed = " or ".join(_describe(a) for a in args)
        raise ConfigError(f"{where}: got {_show(value)}, expected {allowed}")
    if origin is Literal:
        if value in args:
            return value
        raise not_a_choice(value, args, where)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: got {_show(value)}, expected a list")
        return [_coerce(v, args[0], f"{where}[{i}]", kind) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: got {_show(value)}, expected a mapping")
        item = args[1] if args else Any
        return {k: _coerce(v, item, f"{where}.{k}", kind) for k, v in value.items()}
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: got {_show(value)}, expected true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: got {_show(value)}, expected an integer")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):  # YAML reads 2e-5 as a string; accept it
                number = float(value)
        if number is None:
            raise ConfigError(f"{where}: got {_show(value)}, expected a number")
        if not math.isfinite(number):
            # no setting means anything at nan or inf (a learning rate, C, a threshold); they
            # would only surface later as a NaN loss or a library's traceback
            raise ConfigError(f"{where}: got {_show(value)}, expected a finite number")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: got {_show(value)}, expected a string")
    return value


def _describe(tp: Any) -> str:
    if tp is type(None):
        return "null"
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def to_dict(obj: Any) -> dict[str, Any]:
    """The plain-dict form of a settings dataclass: its config-file fields in declaration
    order, nested dataclasses as dicts."""
    return {f.name: _plain(getattr(obj, f.name)) for f in yaml_fields(obj)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def deep_merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into ``base`` (a partial config over a whole one)."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base

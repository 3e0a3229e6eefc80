"""What every settings dataclass shares: field docs, choice checks, strict keyword construction.

Each component owns one dataclass of its settings (``training.TrainSettings``,
``objectives.Objective``, ``backends.lora.LoraSettings`` ...). A field is documented by a string
literal right after it (an *attribute docstring*, as in litgpt's ``args.py``), which
:func:`field_docs` reads with :mod:`ast`; a field whose metadata has ``yaml=False`` is set at run
time by the component itself and never appears in a config file.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import textwrap
import types
import typing
from typing import Any, Literal, Union

from tailtune.errors import ConfigError

__all__ = [
    "RUNTIME",
    "check_choices",
    "field_docs",
    "from_kwargs",
    "unknown_key",
    "yaml_fields",
]

RUNTIME = {"yaml": False}
"""Field metadata of a setting that the component fills in itself (not part of a config file)."""


def yaml_fields(cls_or_obj: Any) -> list[dataclasses.Field]:
    """The fields a config file may set, in declaration order."""
    return [f for f in dataclasses.fields(cls_or_obj) if f.metadata.get("yaml", True)]


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """``{field: docstring}`` from the string literal that follows each field in the class body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


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
            shown = ", ".join("null" if a is None else str(a) for a in allowed)
            close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}.{f.name}: got {value!r}, expected one of: {shown}{hint}")


def unknown_key(key: str, names: list[str], where: str) -> ConfigError:
    """The error for a key that is no field of ``names``, with a "did you mean" hint."""
    dotted = f"{where}.{key}" if where else str(key)
    close = difflib.get_close_matches(str(key), names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(names)}"
    return ConfigError(f"unknown config field '{dotted}'{hint}")


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

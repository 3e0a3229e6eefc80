"""One-line docs and defaults of every config field, and the resolved config as commented YAML.

Field docs are read from the source of each settings dataclass, so that the documentation lives
in one place, next to the field. Two forms are understood, in this order:

- an attribute docstring: a string literal on the line after the field (PEP 257's
  "attribute docstrings", the form litgpt's ``args.py`` uses);
- a trailing ``# comment`` on the field's line (or its last line, for a field that spans several).

The walk follows the *values* of a resolved config (``dataclasses.fields`` recursively), so it
documents whatever settings classes a config is composed of, without knowing their names.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import json
import math
import textwrap
import tokenize
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["FieldDoc", "class_doc", "commented_yaml", "config_field_docs", "field_docs"]


@dataclass(frozen=True)
class FieldDoc:
    """One config field: its dotted path, resolved value, default and one-line doc."""

    path: str
    value: Any
    default: Any
    doc: str
    is_section: bool = False

    @property
    def depth(self) -> int:
        """Nesting level: 0 for a top-level field."""
        return self.path.count(".")


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """``{field name: one-line doc}`` of a dataclass, inherited fields included.

    A field without a docstring or comment is absent. A class whose source cannot be read
    (built at run time, or from a zip without sources) gives an empty mapping.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's doc for a field wins over its base's
        if klass is object:
            continue
        docs.update(_own_field_docs(klass))
    return docs


def class_doc(cls: type) -> str:
    """The first line of a class's own docstring ('' for the one ``@dataclass`` generates)."""
    node = _class_node(cls)
    doc = ast.get_docstring(node) if node is not None else None
    return _first_line(doc or "")


def config_field_docs(cfg: Any, prefix: str = "") -> list[FieldDoc]:
    """Every field of a (nested) config dataclass in declaration order, sections included.

    A field whose value is a dataclass is a section: it is listed, then its own fields under
    the dotted path. The default is the field's declared default (or its factory's result).
    A field with ``metadata={"yaml": False}`` (filled in at run time) is left out.
    """
    out: list[FieldDoc] = []
    docs = field_docs(type(cfg))
    for f in dataclasses.fields(cfg):
        if not f.metadata.get("yaml", True):  # set at run time by its component, not in YAML
            continue
        path = f"{prefix}{f.name}"
        value = getattr(cfg, f.name)
        doc = docs.get(f.name, "")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out.append(FieldDoc(path, value, None, doc or class_doc(type(value)), True))
            out.extend(config_field_docs(value, prefix=f"{path}."))
        else:
            out.append(FieldDoc(path, value, _default(f), doc))
    return out


def commented_yaml(cfg: Any, header: list[str] | None = None) -> str:
    """The config as YAML, each field followed by ``# doc (default X)``; loads back to ``cfg``.

    Sections nest as in a config file. Values are written in YAML flow style on one line each,
    so the comments line up within a section.
    """
    fields = config_field_docs(cfg)
    lines = [f"# {h}" if h else "#" for h in header or []]
    rendered = [(fd, _key_value(fd)) for fd in fields]
    width: dict[str, int] = {}  # per section: the column its comments start at
    for fd, text in rendered:
        if len(text) <= _MAX_PAD:  # one long value does not push a whole section's comments
            parent = fd.path.rpartition(".")[0]
            width[parent] = max(width.get(parent, 0), len(text))
    for fd, text in rendered:
        comment = _comment(fd)
        if not comment:
            lines.append(text.rstrip())
            continue
        pad = width.get(fd.path.rpartition(".")[0], 0)
        lines.append(f"{text.ljust(pad)}   # {comment}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------


def _own_field_docs(cls: type) -> dict[str, str]:
    node = _class_node(cls)
    if node is None:
        return {}
    source = _class_source(cls)
    comments = _line_comments(source)
    docs: dict[str, str] = {}
    body = node.body
    for i, stmt in enumerate(body):
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        name = stmt.target.id
        nxt = body[i + 1] if i + 1 < len(body) else None
        if (
            isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[name] = _first_line(inspect.cleandoc(nxt.value.value))
            continue
        # a trailing comment on the field's last line, else on its first (a wrapped default)
        for line in (stmt.end_lineno, stmt.lineno):
            if line in comments:
                docs[name] = comments[line]
                break
    return docs


def _class_source(cls: type) -> str:
    try:
        return textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return ""


def _class_node(cls: type) -> ast.ClassDef | None:
    source = _class_source(cls)
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            return node
    return None


def _line_comments(source: str) -> dict[int, str]:
    """``{line number: comment text}`` for every comment that follows code on its line."""
    out: dict[int, str] = {}
    code_lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                line = tok.start[0]
                if line in code_lines:
                    text = tok.string.lstrip("#").strip()
                    if text and not text.startswith(("fmt:", "noqa", "type:", "pragma")):
                        out[line] = text
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT):
                code_lines.add(tok.start[0])
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def _first_line(doc: str) -> str:
    """The first sentence-line of a docstring, paragraphs joined: one line for a comment."""
    para = doc.strip().split("\n\n")[0]
    return " ".join(para.split())


_MISSING = object()
_MAX_PAD = 40


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _MISSING


def _plain(value: Any) -> Any:
    """A value as YAML can write it (tuples as lists, paths as strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _yaml_scalar(value: Any) -> str:
    """One-line YAML for a value (flow style for lists and mappings)."""
    if isinstance(value, str) and not value.isprintable():
        return json.dumps(value, ensure_ascii=False)  # "\n" on one line; JSON is YAML
    text = yaml.safe_dump(
        _plain(value), default_flow_style=True, allow_unicode=True, width=math.inf
    ).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    return text


def _key_value(fd: FieldDoc) -> str:
    indent = "  " * fd.depth
    name = fd.path.rpartition(".")[2]
    if fd.is_section:
        return f"{indent}{name}:"
    return f"{indent}{name}: {_yaml_scalar(fd.value)}"


def _comment(fd: FieldDoc) -> str:
    if fd.is_section:
        return fd.doc
    shown = "required" if fd.default is _MISSING else f"default {_show_default(fd.default)}"
    default = f"({shown})"
    return f"{fd.doc} {default}" if fd.doc else default


def _show_default(value: Any) -> str:
    # a float as Python writes it (2e-05, not YAML's 2.0e-05); anything else as in the YAML
    return repr(value) if isinstance(value, float) else _yaml_scalar(value)

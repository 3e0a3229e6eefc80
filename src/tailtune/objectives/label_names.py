"""Label names (or descriptions) as extra training examples: a prior for classes with few texts.

A class seen five times has five documents' worth of vocabulary; its name ("Vehicle was
repossessed or sold the vehicle") often holds the very words its members use. Adding the name
as a training example, as label-name supervision does in weakly supervised text classification
(Meng et al. 2020, "Text Classification Using Label Names Only", EMNLP), gives every class those
words at no labelling cost. It matters most where the tail is thin and a linear model has to
work from a handful of texts; for head classes one more document changes nothing.

Pure functions, no I/O beyond reading an optional descriptions file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from tailtune.errors import ConfigError

__all__ = ["label_text", "label_name_examples", "read_descriptions"]


def label_text(label: str) -> str:
    """A label as text: identifier separators become spaces (``card_arrival`` → ``card arrival``)."""
    return re.sub(r"\s+", " ", re.sub(r"[_\-./|:]+", " ", str(label))).strip()


def label_name_examples(
    classes: Iterable[str],
    copies: int,
    descriptions: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """``(texts, labels)``: ``copies`` examples per class, its description or else its name."""
    if copies < 0:
        raise ConfigError(f"objective.label_name_examples: got {copies}, expected 0 or more")
    descriptions = descriptions or {}
    texts: list[str] = []
    labels: list[str] = []
    for c in classes:
        text = descriptions.get(str(c)) or label_text(c)
        texts.extend([text] * copies)
        labels.extend([str(c)] * copies)
    return texts, labels


def read_descriptions(path: str | Path) -> dict[str, str]:
    """A ``{label: description}`` mapping from a YAML or JSON file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"objective.label_descriptions: {p}: file not found")
    try:
        text = p.read_text(encoding="utf-8")
        raw = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"objective.label_descriptions: {p}: not readable as "
            f"{'JSON' if p.suffix.lower() == '.json' else 'YAML'} ({type(exc).__name__})"
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            f"objective.label_descriptions: {p}: expected a mapping of label to description"
        )
    out = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"objective.label_descriptions: {p}: label '{key}' needs a non-empty text, "
                f"got {value!r}"
            )
        out[str(key)] = value.strip()
    return out

"""Vocabulary of the synthetic complaint generator, read from ``synth_vocab.json`` beside it.

The words are data, not code: the JSON file holds the families (product areas, each with its
companies, context sentences, objects and problems) and the sentence parts a text is padded
with. A family's classes are (object, problem) pairs, so two classes of one family share either
the object's words or the problem's words and errors land on neighbours. All companies and
texts are invented.
"""

from __future__ import annotations

import json
from importlib import resources

_VOCAB = json.loads(
    resources.files("tailtune.data").joinpath("synth_vocab.json").read_text(encoding="utf-8")
)

#: product areas: name, companies, context, objects [(label, phrases)], problems [(label, phrases)]
FAMILIES: list[dict] = _VOCAB["families"]
OPENERS: list[str] = _VOCAB["openers"]  # "{company}" is filled in
CORE: list[str] = _VOCAB["core"]  # "{Obj} {prob}" and variants: the class's cue
VAGUE: list[str] = _VOCAB["vague"]  # names the object, no problem
FILLERS: list[str] = _VOCAB["fillers"]  # "{amount}" is filled in
AMOUNTS: list[str] = _VOCAB["amounts"]

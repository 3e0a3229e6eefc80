"""Leakage: validation or test texts that also occur in training (or in each other).

A text seen in training is scored from memory, not generalisation, so every figure computed on
it is inflated. Texts are compared exactly and after normalising case and whitespace (Unicode
case folding; runs of whitespace collapsed; ends stripped), the two forms a copy usually takes.
Any overlap is reported with its count and share: there is no harmless amount.
"""

from __future__ import annotations

import re

from tailtune.guards.finding import Finding

__all__ = ["check_leakage", "normalise_text", "overlap"]

_SPACE = re.compile(r"\s+")
WHAT_TO_DO = (
    "Drop the repeated texts from the evaluation split (or split after removing duplicates); "
    "until then every figure on that split is optimistic."
)


def normalise_text(text: str) -> str:
    """Case-folded, whitespace-collapsed, stripped: ``"  Hello\\tWorld "`` → ``"hello world"``."""
    return _SPACE.sub(" ", str(text).casefold()).strip()


def overlap(reference, texts) -> dict:
    """Rows of ``texts`` found in ``reference``: ``{"rows", "exact", "normalised", "share"}``
    (``normalised`` counts rows found only after normalising, ``share`` is of all rows)."""
    texts = [str(t) for t in texts]
    exact_set = {str(t) for t in reference}
    norm_set = {normalise_text(t) for t in exact_set}
    exact = sum(t in exact_set for t in texts)
    either = sum(t in exact_set or normalise_text(t) in norm_set for t in texts)
    return {"rows": len(texts), "exact": exact, "normalised": either - exact,
            "share": round(either / len(texts), 4) if texts else 0.0}  # fmt: skip


def check_leakage(train, val=None, test=None) -> list[Finding]:
    """One finding per pair of splits that share texts: val–train, test–train, test–val."""
    pairs = [("validation", "training", val, train), ("test", "training", test, train),
             ("test", "validation", test, val)]  # fmt: skip
    found = []
    for name, ref_name, texts, reference in pairs:
        if texts is None or reference is None or not len(texts) or not len(reference):
            continue
        o = overlap(reference, texts)
        if o["exact"] + o["normalised"]:
            found.append(Finding(
                "leakage",
                f"{o['exact'] + o['normalised']:,} of {o['rows']:,} {name} texts also occur in "
                f"{ref_name}",
                {"split": name, "in": ref_name, "exact": o["exact"],
                 "after_normalising": o["normalised"], "share": o["share"]},
                WHAT_TO_DO,
            ))  # fmt: skip
    return found

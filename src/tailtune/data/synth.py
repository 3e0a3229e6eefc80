"""SYNTHETIC long-tailed complaint data: the built-in default, since nothing downloads at run time.

Every text here is generated (invented companies, templated English). Classes come in
families (product areas); a class is an (object, problem) pair within its family, so siblings
share vocabulary and errors land on neighbours. Cues are noisy on purpose: some texts name a
sibling's problem or object, some name no problem at all, and a few mix two families' cues
(``ambiguous=True``). Class sizes follow a Zipf-like curve, so a TF-IDF baseline shows the
accuracy–macro-F1 trade-off: class weighting rescues tail classes from zero F1 at
the cost of some accuracy. Deterministic by ``seed`` (numpy Generator).
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd

from tailtune.data import _synth_vocab as V

__all__ = ["PRESETS", "synthesize", "preset_sizes"]

# Sizes are full-data counts; val is the recommended validation count; head_min/tail_max are
# the tier thresholds (training counts) under which all three tiers exist after that split.
PRESETS: dict[str, dict] = {
    "cfpb113": {
        "description": "a 113-class complaint-like long tail: 113 classes, largest ~13,000 train, smallest 5; "
        "split with val=6430 gives 57,846 train / 6,430 val, 6 head (>=2000) and 67 tail (<100) classes",
        "classes": 113,
        "families": 12,
        "total": 64276,
        "anchors": [
            (1, 14800),
            (2, 7150),
            (3, 5120),
            (4, 3500),
            (5, 2700),
            (6, 2400),
            (7, 1950),
            (46, 115),
            (47, 108),
            (113, 5),
        ],
        "val": 6430,
        "sibling_noise": 0.5,
        "head_min": 2000,
        "tail_max": 100,
    },
    "small": {
        "description": "quickstart: 30 classes, 6,000 rows, largest 1,500, smallest 5; "
        "with val=600 and head_min=500, tail_max=50: 3 head, 15 mid, 12 tail classes",
        "classes": 30,
        "families": 6,
        "total": 6000,
        "anchors": [(1, 1500), (2, 800), (3, 570), (4, 440), (18, 58), (19, 52), (30, 5)],
        "val": 600,
        "sibling_noise": 0.4,
        "head_min": 500,
        "tail_max": 50,
    },
    "tiny": {
        "description": "unit tests: 8 classes, 400 rows; with val=40 and head_min=60, "
        "tail_max=25: 2 head, 3 mid, 3 tail classes",
        "classes": 8,
        "families": 3,
        "total": 400,
        "anchors": [(1, 120), (2, 80), (3, 60), (4, 45), (5, 35), (6, 25), (7, 20), (8, 15)],
        "val": 40,
        "sibling_noise": 0.4,
        "head_min": 60,
        "tail_max": 25,
    },
}
# Noise (probabilities per text): why the task is learnable but the tail is hard. A text names
# the cues of a random sibling (uniform over the family) instead of its own with probability
# the preset's "sibling_noise", so a big class leaks a steady trickle of texts that look
# exactly like each small sibling: unweighted, predicting the big class there is right more often; weighted, the
# small sibling wins, which rescues it and costs some accuracy (the accuracy–macro-F1 trade-off).
_P_VAGUE = 0.08  # no problem named: only the object (shared with siblings) identifies the class
_P_CONTEXT = 0.6  # a family context sentence (family cue, not class cue)
_P_AMBIGUOUS = 0.04  # a second family's object+problem sentence is mixed in


def preset_sizes(preset: str, scale: float = 1.0) -> list[int]:
    """Class sizes of a preset, largest first (rank order), summing to its total at scale 1."""
    spec = _spec(preset)
    ranks, sizes = zip(*spec["anchors"], strict=True)
    curve = np.exp(np.interp(np.arange(1, spec["classes"] + 1), ranks, np.log(sizes)))
    out = np.round(curve).astype(np.int64)
    out[0] += spec["total"] - out.sum()  # the rounding residual goes to the largest class
    if scale != 1.0:
        out = np.maximum(2, np.round(out * scale)).astype(np.int64)
    return out.tolist()


def synthesize(preset: str = "small", seed: int = 0, scale: float = 1.0) -> pd.DataFrame:
    """Generate a SYNTHETIC labelled frame: ``id, text, label, line, family, ambiguous``.

    ``preset`` is one of :data:`PRESETS`; ``scale`` multiplies every class size (at least 2
    per class). Rows are shuffled; ``line`` is the 1-based row number and ``id`` is
    ``synth-<preset>:<line>``. The same preset, seed and scale give the identical frame.
    For a scaled preset the recommended validation count scales too:
    ``round(PRESETS[preset]["val"] * scale)``.
    """
    spec = _spec(preset)
    classes = _classes(spec["classes"], spec["families"])
    sizes = preset_sizes(preset, scale)
    rng = np.random.default_rng(seed)
    texts, labels, families, ambiguous = [], [], [], []
    for (fam, o, p), n in zip(classes, sizes, strict=True):
        t, a = _texts_for_class(rng, fam, o, p, n, classes, spec["sibling_noise"])
        texts += t
        ambiguous += a
        labels += [_label(fam, o, p)] * n
        families += [V.FAMILIES[fam]["name"]] * n
    order = rng.permutation(len(texts))
    lines = np.arange(1, len(texts) + 1)
    return pd.DataFrame(
        {
            "id": [f"synth-{preset}:{i}" for i in lines],
            "text": np.asarray(texts, dtype=object)[order],
            "label": np.asarray(labels, dtype=object)[order],
            "line": lines.astype(np.int64),
            "family": np.asarray(families, dtype=object)[order],
            "ambiguous": np.asarray(ambiguous, dtype=bool)[order],
        }
    )


def _spec(preset: str) -> dict:
    if preset not in PRESETS:
        from tailtune.errors import DataError

        raise DataError(f"synthetic preset: got '{preset}', expected one of: {', '.join(PRESETS)}")
    return PRESETS[preset]


def _classes(n_classes: int, n_families: int) -> list[tuple[int, int, int]]:
    """(family, object, problem) triples in rank order: families take turns, so each family
    has one large class and a spread of smaller siblings sharing its object or problem words."""
    per_family = [
        list(product(range(len(V.FAMILIES[f]["objects"])), range(len(V.FAMILIES[f]["problems"]))))
        for f in range(n_families)
    ]
    out = []
    for j in range(max(len(p) for p in per_family)):
        out += [(f, *pairs[j]) for f, pairs in enumerate(per_family) if j < len(pairs)]
    return out[:n_classes]


def _label(fam: int, o: int, p: int) -> str:
    f = V.FAMILIES[fam]
    return f"{f['name']}: {f['problems'][p][0]} ({f['objects'][o][0]})"


def _texts_for_class(rng, fam, o, p, n, classes, sibling_noise) -> tuple[list[str], list[bool]]:
    """``n`` texts of class (fam, o, p); noise draws are vectorized, assembly is plain Python."""
    f = V.FAMILIES[fam]
    family = [c for c in classes if c[0] == fam]
    u = rng.random((n, 3))
    cue = np.where(
        u[:, 0] < sibling_noise, rng.integers(len(family), size=n), family.index((fam, o, p))
    )
    obj = np.array([family[c][1] for c in cue])
    prob = np.array([family[c][2] for c in cue])
    vague = u[:, 1] < _P_VAGUE
    amb = u[:, 2] < _P_AMBIGUOUS
    others = [c for c in classes if c[0] != fam]
    pick = rng.integers(len(others), size=n)
    ints = rng.integers(0, 1 << 30, size=(n, 10))
    ctx_on = rng.random(n) < _P_CONTEXT
    texts = []
    for i in range(n):
        r = ints[i]
        parts = [V.OPENERS[r[0] % len(V.OPENERS)].format(company=f["companies"][r[1] % 3])]
        if ctx_on[i]:
            parts.append(f["context"][r[2] % len(f["context"])])
        obj_phrase = _pick(f["objects"][obj[i]][1], r[3])
        if vague[i]:
            parts.append(V.VAGUE[r[4] % len(V.VAGUE)].format(obj=obj_phrase))
        else:
            parts.append(_core(obj_phrase, _pick(f["problems"][prob[i]][1], r[5]), r[4]))
        if amb[i]:
            of, oo, op = others[pick[i]]
            g = V.FAMILIES[of]
            extra = _core(_pick(g["objects"][oo][1], r[6]), _pick(g["problems"][op][1], r[7]), r[6])
            parts.insert(1 + r[7] % (len(parts)), "Also, " + extra[0].lower() + extra[1:])
        for k in range(1 + r[8] % 3):
            filler = V.FILLERS[(r[9] + 7 * k) % len(V.FILLERS)]
            parts.append(filler.format(amount=V.AMOUNTS[(r[9] >> 4) % len(V.AMOUNTS)]))
        texts.append(" ".join(parts))
    return texts, amb.tolist()


def _pick(options: list[str], r: int) -> str:
    return options[int(r) % len(options)]


def _core(obj_phrase: str, prob_phrase: str, r: int) -> str:
    template = V.CORE[int(r) % len(V.CORE)]
    return template.format(
        obj=obj_phrase, Obj=obj_phrase[0].upper() + obj_phrase[1:], prob=prob_phrase
    )

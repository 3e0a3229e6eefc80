"""Confusable label pairs, and the macro F1 the label set would have if a pair were merged.

A class is confusable when (1) its validation errors concentrate on one other class (at least
``min_share`` of them, and at least ``min_errors``) AND (2) the two labels look like near
duplicates: by name (:func:`name_similarity`: token Jaccard similarity and difflib's
Ratcliff–Obershelp ratio, Ratcliff & Metzener 1988, on the words that differ) or by text (the cosine between the two
classes' TF-IDF centroids over the training texts). Both conditions: errors alone also flag
a class that is simply swamped by a big neighbour, similarity alone flags pairs the model
tells apart. More data rarely separates such a pair, a merge (or a labelling guideline) does.

The merge what-if recomputes macro F1 on the run's own validation predictions with both labels
mapped to one: no retraining, so it is what the same model scores on the merged label set.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from tailtune.evaluation.metrics import compute_metrics

__all__ = [
    "name_similarity", "similar_names", "centroid_cosines", "confusable_pairs", "merged_macro_f1",
]  # fmt: skip

_TOKEN = re.compile(r"[a-z0-9]+")


def name_similarity(a: str, b: str) -> float:
    """How near two label names are to duplicates, in [0, 1] (case-insensitive).

    Names are compared on their content words (English stop words dropped). The larger of two
    scores: the token Jaccard similarity, and difflib's Ratcliff–Obershelp ratio of what is left
    once the words both names start and end with are removed (so "Closing an account" /
    "Closing your account" score 1, "Struggling to pay your loan" / "... repay ..." 0.75, and
    "Card: billing dispute (card)" / "Card: not honored (card)" low: the shared frame is not
    what makes two labels duplicates, the differing part is).
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    ta = [t for t in _TOKEN.findall(a.lower()) if t not in ENGLISH_STOP_WORDS]
    tb = [t for t in _TOKEN.findall(b.lower()) if t not in ENGLISH_STOP_WORDS]
    union = set(ta) | set(tb)
    jaccard = len(set(ta) & set(tb)) / len(union) if union else 1.0
    while ta and tb and ta[0] == tb[0]:
        ta, tb = ta[1:], tb[1:]
    while ta and tb and ta[-1] == tb[-1]:
        ta, tb = ta[:-1], tb[:-1]
    if not ta and not tb:
        return 1.0
    ratio = difflib.SequenceMatcher(None, " ".join(ta), " ".join(tb)).ratio()
    return float(max(jaccard, ratio))


def similar_names(labels, threshold: float = 0.7) -> list[dict]:
    """Every pair of labels whose names are near duplicates (:func:`name_similarity`), most
    similar first: a hint even where validation is too small to show the confusion."""
    labels = sorted(set(map(str, labels)))
    out = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            sim = name_similarity(a, b)
            if sim >= threshold:
                out.append({"label": a, "other": b, "name_similarity": round(sim, 4)})
    return sorted(out, key=lambda p: (-p["name_similarity"], p["label"], p["other"]))


def centroid_cosines(texts, labels) -> pd.DataFrame:
    """Cosine similarity between the classes' TF-IDF centroids (word unigrams, sublinear tf).

    Each class's centroid is the mean of its L2-normalised TF-IDF rows, normalised again; the
    result is a symmetric label × label frame with ones on the diagonal.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    labels = np.asarray(labels, dtype=str)
    classes, codes = np.unique(labels, return_inverse=True)
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english")
    try:
        x = vec.fit_transform(list(texts))
    except ValueError:  # every word is a stop word or seen once: fall back to all words
        x = TfidfVectorizer(sublinear_tf=True).fit_transform(list(texts))
    import scipy.sparse as sp

    member = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(classes), len(codes))
    )
    cent = normalize(np.asarray((member @ x).todense()))
    return pd.DataFrame(cent @ cent.T, index=classes, columns=classes)


def confusable_pairs(
    gold,
    pred,
    cosines: pd.DataFrame | None = None,
    *,
    min_share: float = 0.5,
    min_errors: int = 2,
    name_threshold: float = 0.7,
    text_threshold: float = 0.9,
) -> list[dict]:
    """Every gold class whose errors concentrate on one class that is a near duplicate of it.

    Returns dicts ``label, other, errors, to_other, share, name_similarity, text_cosine, why``
    sorted by ``to_other`` (descending); ``why`` says which similarity crossed its threshold.
    """
    gold, pred = np.asarray(gold, dtype=str), np.asarray(pred, dtype=str)
    out = []
    for label in np.unique(gold):
        wrong = pred[(gold == label) & (pred != label)]
        if len(wrong) < min_errors:
            continue
        dest, counts = np.unique(wrong, return_counts=True)
        j = int(np.argmax(counts))
        other, n_other = str(dest[j]), int(counts[j])
        share = n_other / len(wrong)
        if n_other < min_errors or share < min_share:
            continue
        name_sim = name_similarity(str(label), other)
        cos = None
        if cosines is not None and label in cosines.index and other in cosines.columns:
            cos = float(cosines.at[label, other])
        why = []
        if name_sim >= name_threshold:
            why.append(f"names {name_sim:.2f}")
        if cos is not None and cos >= text_threshold:
            why.append(f"texts {cos:.2f}")
        if why:
            out.append({
                "label": str(label), "other": other, "errors": int(len(wrong)),
                "to_other": n_other, "share": round(share, 4),
                "name_similarity": round(name_sim, 4),
                "text_cosine": None if cos is None else round(cos, 4), "why": ", ".join(why),
            })  # fmt: skip
    return sorted(out, key=lambda p: (-p["to_other"], p["label"]))


def merged_macro_f1(gold, pred, merges: list[tuple[str, str]]) -> dict:
    """Macro F1 of the run's predictions with each pair in ``merges`` mapped to one label.

    Returns ``before, after, n_classes_before, n_classes_after`` (the macro average runs over
    the classes present in the merged gold labels, as everywhere in tailtune).
    """
    gold, pred = np.asarray(gold, dtype=str), np.asarray(pred, dtype=str)
    parent = {}

    def root(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in merges:  # union-find: chains of merges become one label
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for lab in set(parent) | {root(x) for x in parent}:
        groups.setdefault(root(lab), []).append(lab)
    name = {lab: " + ".join(sorted(m)) for m in groups.values() for lab in m}
    mg = np.array([name.get(g, g) for g in gold])
    mp = np.array([name.get(p, p) for p in pred])
    before, after = compute_metrics(gold, pred), compute_metrics(mg, mp)
    return {
        "before": before["macro_f1"], "after": after["macro_f1"],
        "n_classes_before": before["n_classes"], "n_classes_after": after["n_classes"],
    }  # fmt: skip

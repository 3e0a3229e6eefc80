"""Hierarchical labels on the CFPB samples with scikit-learn: flat over leaf paths, two decodings,
and back-off at two precision targets.

    python benchmarks/hierarchy_sklearn.py [--levels 2,3] [--targets 0.8,0.9] [--json out.json]

Data and split are quality.py's cfpb row: both CFPB files, narrative rows, classes of Issue with
at least 2 rows, a 20% stratified test split (seed 42), and, for everything tuned, a 10%
stratified validation split carved from training (seed 42). The same rows are read again with
label columns Product, Issue and Sub-issue and ``hierarchy=True``, so a path stops where the
Sub-issue is empty (the payday file writes an absent Sub-issue as the word "None", which is read
as absent here). ``--levels 2`` is Product -> Issue, ``3`` adds Sub-issue.

One model per hierarchy: word 1-2 + char_wb 2-5 TF-IDF and ``LinearSVC(class_weight="balanced")``
(quality.py's strongest scikit-learn anchor) over the leaf paths, fitted on training minus the
validation carve; probabilities are a softmax of the margins over one temperature chosen on
validation log-loss (Guo et al. 2017), as tailtune's tfidf backend forms them. Rows, all scored on
the test split:

- ``flat composite``: the argmax leaf; each level is its prefix. This is what a flat classifier
  over the composite label (``label_columns: [Product, Issue]`` today) predicts.
- ``flat leaves, parents summed``: node probabilities summed from the leaves, decoded top-down
  (``tailtune.data.hierarchy_proba.consistent_paths(method="top_down")``).
- ``back-off p>=T``: the parents-summed path cut at the deepest level whose probability clears
  a threshold chosen on validation for precision T at every level
  (``tailtune.objectives.backoff.choose_thresholds``); coverage and precision per level.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NARRATIVE = "Consumer complaint narrative"
LEVEL_COLUMNS = ("Product", "Issue", "Sub-issue")
TIERS = (500, 20)  # head_min, tail_max: quality.py's cfpb tiers


def cfpb_paths(levels: int, seed: int = 42) -> tuple:
    """(fit, val, test) frames of quality.py's cfpb split with ``path`` (tuple) columns;
    ``seed`` draws the test split and the validation carve (42: quality.py's split)."""
    sys.path.insert(0, str(HERE))
    from quality import data_root, load_dataset

    from tailtune.data import load_table
    from tailtune.data.split import split_frame

    root = data_root()
    train, test = load_dataset("cfpb", root, seed)
    parts = split_frame(train, val=0.1, seed=seed)
    full = load_table(
        [
            root / "cfpb/bdm_complaints_sample_2015-2020.csv",
            root / "cfpb/payday_personal_loan_narratives_2023.csv",
        ],
        skip_rows=[2, 0],
        text_columns=[NARRATIVE],
        label_columns=list(LEVEL_COLUMNS),
        hierarchy=True,
    ).frame
    path_of = {}
    for rid, label in zip(full["id"], full["label"], strict=True):
        names = tuple(label.split(" | "))
        names = names[:-1] if names[-1] == "None" else names  # the payday file's absent level
        path_of[rid] = names[:levels]
    out = []
    for frame in (parts.train, parts.val, test):
        frame = frame.copy()
        frame["path"] = [path_of[rid] for rid in frame["id"]]  # KeyError = the splits disagree
        out.append(frame)
    return tuple(out)


def fit_model(texts, labels):
    """Word + char TF-IDF and a balanced LinearSVC (quality.py's anchor), fitted."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LinearSVC(class_weight="balanced", random_state=42),  # dual solver shuffles rows
    )
    return model.fit(texts, labels)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of margins / T."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, gold: list[str], classes: np.ndarray) -> float:
    """T on a log grid by validation log-loss (Guo et al. 2017), over rows of known classes."""
    index = {c: j for j, c in enumerate(classes)}
    rows = [i for i, g in enumerate(gold) if g in index]
    y = np.array([index[gold[i]] for i in rows])
    grid = np.geomspace(0.01, 1.0, 41)
    nll = [-np.log(softmax(scores[rows], t)[np.arange(len(y)), y] + 1e-300).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def evaluate(fit, val, test, level_names, targets, tiers=TIERS) -> dict:
    """Train on ``fit`` (a ``text``, ``path`` frame), tune on ``val``, score ``test``: the rows of
    the module docstring as ``{row name: metrics}`` plus the thresholds and temperature."""
    from tailtune.data.hierarchy import Hierarchy
    from tailtune.data.hierarchy_proba import consistent_paths
    from tailtune.evaluation.hierarchy import backoff_table, hierarchy_metrics
    from tailtune.objectives.backoff import choose_thresholds

    h = Hierarchy(levels=tuple(level_names), leaves=tuple(fit["path"]))
    train_labels = [h.label(p) for p in fit["path"]]
    t0 = time.perf_counter()
    model = fit_model(fit["text"].tolist(), train_labels)
    classes = model.classes_
    fit_s = time.perf_counter() - t0
    val_scores = model.decision_function(val["text"].tolist())
    temperature = fit_temperature(val_scores, [h.label(p) for p in val["path"]], classes)
    val_proba = softmax(val_scores, temperature)
    test_proba = softmax(model.decision_function(test["text"].tolist()), temperature)

    gold, train = list(test["path"]), list(fit["path"])
    kw = {"train": train, "head_min": tiers[0], "tail_max": tiers[1]}
    rows = {}
    leaf_paths, _ = consistent_paths(h, test_proba, classes, method="leaf")
    rows["flat composite"] = hierarchy_metrics(gold, leaf_paths, h.levels, **kw)
    summed, summed_p = consistent_paths(h, test_proba, classes, method="top_down")
    rows["flat leaves, parents summed"] = hierarchy_metrics(gold, summed, h.levels, **kw)
    paired = discordant(gold, leaf_paths, summed, h.levels)
    val_paths, val_p = consistent_paths(h, val_proba, classes, method="top_down")
    rules = {}
    for target in targets:
        rule = choose_thresholds(list(val["path"]), val_paths, val_p, target, h.levels)
        answered = rule.apply(summed, summed_p)
        rows[f"back-off p>={target:g}"] = {
            "backoff": backoff_table(gold, answered, h.levels),
            **hierarchy_metrics(gold, answered, h.levels, **kw),
        }
        rules[f"{target:g}"] = rule.to_dict()
    return {
        "rows": rows,
        "rules": rules,
        "paired": paired,
        "temperature": temperature,
        "fit_s": round(fit_s, 1),
        "sizes": {"fit": len(fit), "val": len(val), "test": len(test), "leaves": len(h.leaves)},
    }


def discordant(gold, a, b, levels) -> dict:
    """Per level, the rows one decoding gets right and the other wrong, and the exact McNemar
    p-value (two-sided binomial test on the discordant rows; McNemar 1947)."""
    from scipy.stats import binomtest

    out = {}
    for d, name in enumerate(levels, start=1):
        rows = [i for i, g in enumerate(gold) if len(g) >= d]
        right_a = [len(a[i]) >= d and a[i][:d] == gold[i][:d] for i in rows]
        right_b = [len(b[i]) >= d and b[i][:d] == gold[i][:d] for i in rows]
        only_a = sum(x and not y for x, y in zip(right_a, right_b, strict=True))
        only_b = sum(y and not x for x, y in zip(right_a, right_b, strict=True))
        p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
        out[name] = {"only_flat": only_a, "only_summed": only_b, "p_value": float(p)}
    return out


def print_result(result: dict, level_names) -> None:
    """One line per row: per-level accuracy and macro F1, hierarchical P/R/F1, back-off."""
    for name, m in result["rows"].items():
        per_level = "  ".join(
            f"{lvl}: acc {m['levels'][lvl]['accuracy']:.3f} mF1 {m['levels'][lvl]['macro_f1']:.3f}"
            for lvl in level_names
            if lvl in m["levels"]
        )
        hier = m["hierarchical"]
        print(
            f"{name:<28} {per_level}  hP {hier['h_precision']:.3f} hR {hier['h_recall']:.3f} "
            f"hF1 {hier['h_f1']:.3f}"
        )
        if "backoff" in m:
            b = m["backoff"]
            cov = "  ".join(
                f"{lvl}: cov {v['coverage']:.3f} prec "
                + ("  -  " if v["precision"] is None else f"{v['precision']:.3f}")
                for lvl, v in b["levels"].items()
            )
            print(f"{'':<28} {cov}  unknown {b['unknown']:.3f}  exact {b['exact']:.3f}")
        else:
            e = m["errors"]
            wrong = e["sibling"] + e["wrong_branch"] + e["deeper"]
            print(
                f"{'':<28} wrong {wrong}: sibling {e['sibling']}, wrong branch "
                f"{e['wrong_branch']}, deeper {e['deeper']}; first wrong level "
                f"{e['first_wrong_level']}"
            )
    print(
        "right under one decoding only (flat composite / parents summed, McNemar exact p): "
        + "; ".join(
            f"{lvl} {v['only_flat']} / {v['only_summed']}, p {v['p_value']:.3g}"
            for lvl, v in result["paired"].items()
        )
    )
    for target, rule in result["rules"].items():
        print(f"thresholds for precision {target}: {rule['thresholds']}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="2,3", help="hierarchy depths to run: 2, 3 or 2,3")
    parser.add_argument("--targets", default="0.8,0.9", help="back-off precision targets")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    targets = [float(x) for x in args.targets.split(",")]
    out = {}
    for depth in (int(x) for x in args.levels.split(",")):
        names = LEVEL_COLUMNS[:depth]
        fit, val, test = cfpb_paths(depth)
        result = evaluate(fit, val, test, names, targets)
        s = result["sizes"]
        print(
            f"\n== CFPB {' -> '.join(names)}: fit {s['fit']}, val {s['val']}, test {s['test']}, "
            f"{s['leaves']} leaf paths; T {result['temperature']:.3g}, fit {result['fit_s']} s"
        )
        print_result(result, names)
        out[" -> ".join(names)] = result
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()

"""Hierarchical models on CFPB Product -> Issue with tailtune's own backends: flat over leaf
paths, top-down per level and per parent, and back-off at two precision targets.

    python benchmarks/hierarchy_models.py [--levels 2] [--targets 0.8,0.9] [--seed 42]
                                          [--json out.json]

Data and split are hierarchy_sklearn.py's (quality.py's cfpb row: both CFPB files, narrative
rows, Issue classes with >= 2 rows, 20% stratified test, seed 42; a 10% validation carve from
training, seed 42); paths stop where the Sub-issue is empty or the word "None". ``--seed``
draws another test split and carve (and seeds every classifier); 42 is quality.py's split. Every
classifier is tailtune's ``tfidf`` backend with its defaults (word 1-2 + char_wb 2-5 TF-IDF, LinearSVC,
softmax over a temperature chosen on its validation rows) and inverse-frequency class weights
(scikit-learn's "balanced"), wrapped in :class:`tailtune.backends.hierarchical.HierarchicalBackend`
and fitted on training minus the carve with the carve as its eval set. Rows, scored on test:

- ``flat composite``: the flat model's argmax leaf (``decode: leaf``), what a classifier over
  the composite label predicts: the baseline.
- ``flat, parents summed``: the same model decoded top-down over summed node probabilities.
- ``top-down per level`` / ``per parent``: a classifier per level (its children masked to the
  predicted parent's) or per parent node; ``routing lost`` counts test rows whose Issue could
  not be right because the Product was wrong, as the cascade counts routing losses.
- ``right only under flat composite / this row``: per level, the test rows one of the two gets
  right and the other wrong, with the exact McNemar p-value (McNemar 1947).
- ``... back-off p>=T``: the (top-down decoded) path cut at the deepest level whose probability clears the
  threshold chosen on the carve for precision T at every level (``fit_backoff``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVEL_COLUMNS = ("Product", "Issue", "Sub-issue")
TIERS = (500, 20)  # head_min, tail_max: quality.py's cfpb tiers


def stage(seed: int = 42):
    """The tfidf backend every level uses (defaults, balanced class weights)."""
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.objectives import ObjectiveSettings

    return TfidfBackend(objective=ObjectiveSettings(class_weights="inverse"), seed=seed)


def run_model(name, model, fit, val, test, levels, targets, decodes=("top_down",)) -> dict:
    """Fit ``model`` on ``fit`` (eval set ``val``), score ``test``: one row per decoding, and
    one back-off row per target (on the first decoding: the model's default, top-down)."""
    from tailtune.evaluation.hierarchy import backoff_table, hierarchy_metrics

    t0 = time.perf_counter()
    model.fit(fit["text"].tolist(), fit["label"].tolist(),
              eval_set=(val["text"].tolist(), val["label"].tolist()))  # fmt: skip
    fit_s = round(time.perf_counter() - t0, 1)
    tree = model.hierarchy_
    gold = [tree.parse(x) for x in test["label"]]
    kw = {"train": [tree.parse(x) for x in fit["label"]], "head_min": TIERS[0],
          "tail_max": TIERS[1]}  # fmt: skip
    proba = model.predict_proba(test["text"].tolist())
    rows = {}
    for decode in decodes:
        model.set_params(decode=decode)
        paths, _ = model.decode_paths(proba)
        label = name if len(decodes) == 1 else f"{name}, decode {decode}"
        rows[label] = {**hierarchy_metrics(gold, paths, tree.levels, **kw), "fit_s": fit_s,
                       "_paths": paths, "_gold": gold}  # fmt: skip
    model.set_params(decode=decodes[0])
    if model.strategy == "top_down":  # rows whose level above was routed wrong
        routed = model.evaluate(test["text"].tolist(), test["label"].tolist())
        rows[label]["routing"] = routed["levels_eval"]
    paths, path_proba = model.decode_paths(proba)
    for target in targets:
        model.set_params(backoff_precision=target)
        model.fit_backoff(val["text"].tolist(), val["label"].tolist())
        answered = model.backoff_.apply(paths, path_proba)
        rows[f"{name}, back-off p>={target:g}"] = {
            "backoff": backoff_table(gold, answered, tree.levels),
            "thresholds": list(model.backoff_.thresholds),
            **hierarchy_metrics(gold, answered, tree.levels, **kw),
        }
    return rows


def evaluate(fit, val, test, levels, targets, show=None, seed: int = 42) -> dict:
    """Every row of the module docstring, by name; ``show(rows)`` is called after each model
    (so a long run prints as it goes)."""
    show = show or (lambda rows: None)
    from tailtune.backends.hierarchical import HierarchicalBackend

    sep = " | "
    for frame in (fit, val, test):
        frame["label"] = [sep.join(p) for p in frame["path"]]
    common = {"level_names": list(levels), "separator": sep, "seed": seed}
    rows = {}
    flat = HierarchicalBackend(model=stage(seed), strategy="flat", **common)
    flat_rows = run_model("flat", flat, fit, val, test, levels, targets, ("top_down", "leaf"))
    rows["flat composite"] = flat_rows.pop("flat, decode leaf")
    rows["flat, parents summed"] = flat_rows.pop("flat, decode top_down")  # back-off's path
    rows.update(flat_rows)
    base = rows["flat composite"]
    rows["flat, parents summed"]["paired"] = discordant(
        base["_gold"], base["_paths"], rows["flat, parents summed"]["_paths"], levels
    )
    show(rows)
    for per in ("level", "parent"):
        model = HierarchicalBackend(model=stage(seed), strategy="top_down", per=per, **common)
        more = run_model(f"top-down per {per}", model, fit, val, test, levels, targets)
        # exact McNemar per level against the composite-label baseline, on the same rows
        more[f"top-down per {per}"]["paired"] = discordant(
            base["_gold"], base["_paths"], more[f"top-down per {per}"]["_paths"], levels
        )
        show(more)
        rows.update(more)
    for m in rows.values():
        m.pop("_paths", None), m.pop("_gold", None)
    return rows


def discordant(gold, a, b, levels) -> dict:
    """hierarchy_sklearn.py's per-level exact McNemar test (McNemar 1947): rows right under
    one prediction only, ``a`` (the baseline) vs ``b``."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from hierarchy_sklearn import discordant as paired

    return paired(gold, a, b, levels)


def print_rows(rows: dict, levels) -> None:
    """One line per row: per-level accuracy and macro F1, hP/hR/hF1; back-off and routing."""
    for name, m in rows.items():
        per_level = "  ".join(
            f"{lvl}: acc {m['levels'][lvl]['accuracy']:.3f} mF1 {m['levels'][lvl]['macro_f1']:.3f}"
            for lvl in levels
            if lvl in m["levels"]
        )
        h = m["hierarchical"]
        fit = f"  fit {m['fit_s']} s" if "fit_s" in m else ""
        print(f"{name:<34} {per_level}  hP {h['h_precision']:.3f} hR {h['h_recall']:.3f} "
              f"hF1 {h['h_f1']:.3f}{fit}")  # fmt: skip
        if "backoff" in m:
            b = m["backoff"]
            cov = "  ".join(
                f"{lvl}: cov {v['coverage']:.3f} prec "
                + ("  -  " if v["precision"] is None else f"{v['precision']:.3f}")
                for lvl, v in b["levels"].items()
            )
            t = ", ".join("never" if x is None else f"{x:.3f}" for x in m["thresholds"])
            print(f"{'':<34} {cov}  unknown {b['unknown']:.3f}  thresholds [{t}]")
        else:
            e = m["errors"]
            line = (f"wrong {e['sibling'] + e['wrong_branch'] + e['deeper']}: sibling "
                    f"{e['sibling']}, wrong branch {e['wrong_branch']}")  # fmt: skip
            if "routing" in m:
                lost = {k: v["routing_lost"] for k, v in m["routing"].items()}
                line += f"; routing lost {lost}"
            print(f"{'':<34} {line}")
            if "paired" in m:
                pair = "; ".join(f"{lvl} {v['only_flat']} / {v['only_summed']}, p {v['p_value']:.3g}"
                                 for lvl, v in m["paired"].items())  # fmt: skip
                print(f"{'':<34} right only under flat composite / this row (McNemar): {pair}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="2", help="hierarchy depths to run: 2, 3 or 2,3")
    parser.add_argument("--targets", default="0.8,0.9", help="back-off precision targets")
    parser.add_argument("--seed", type=int, default=42, help="test split, carve and models")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(HERE))
    from hierarchy_sklearn import cfpb_paths

    targets = [float(x) for x in args.targets.split(",")]
    out = {}
    for depth in (int(x) for x in args.levels.split(",")):
        names = LEVEL_COLUMNS[:depth]
        fit, val, test = cfpb_paths(depth, args.seed)
        print(f"\n== CFPB {' -> '.join(names)}, seed {args.seed}: fit {len(fit)}, val {len(val)}, "
              f"test {len(test)}")  # fmt: skip
        rows = evaluate(fit, val, test, names, targets, lambda r, n=names: print_rows(r, n),
                        args.seed)  # fmt: skip
        out[" -> ".join(names)] = rows
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()

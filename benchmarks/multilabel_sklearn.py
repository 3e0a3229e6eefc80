"""GoEmotions as multi-label data (28 labels with neutral): a linear one-vs-rest baseline, and
tuned per-label thresholds against a fixed 0.5, side by side.

    python benchmarks/multilabel_sklearn.py [--C 1,4] [--n-boot 1000] [--json out.json]

Data: the data set's own train / dev / test files (43,410 / 5,426 / 5,427 comments), read by
``tailtune.data.load_table(multi_label="sets")``: every comment keeps all its labels (16% carry
two or more). Model: word 1-2 + char_wb 2-5 TF-IDF (sublinear tf) and one L2 logistic regression
per label (scikit-learn ``OneVsRestClassifier``, liblinear), fitted on train. ``--C`` values are
compared on dev macro F1 (per-label thresholds, tuned on dev); nothing is chosen on test.

Decision rules, all scored on test (the dev split tunes every threshold):

- ``fixed 0.5``: what a sigmoid head does untuned (and what 🤗 ``pipeline`` applies);
- ``global t``: one threshold for every label, the one with the best dev macro F1;
- ``per-label, shrink k``: each label's best dev-F1 threshold, shrunk towards the global one by
  n / (n + k) with n its dev positives (``tailtune.objectives.thresholds.tune_set_rule``);
  k = 0 is no shrinkage;
- ``... + at least one``: a comment with no label over threshold gets its largest-margin label.

Printed: test macro / micro / samples F1, zero-F1 labels, subset accuracy, Hamming loss, the
95% bootstrap interval of macro F1 over comments, and the paired bootstrap of the tuned rule
against fixed 0.5 (Koehn 2004).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def data_root() -> Path:
    """../shared/data beside the repository, or $TAILTUNE_SHARED_DATA."""
    root = Path(os.environ.get("TAILTUNE_SHARED_DATA", HERE.parent / "../shared/data")).resolve()
    if not (root / "goemotions").is_dir():
        sys.exit(f"error: {root / 'goemotions'}: not found (set TAILTUNE_SHARED_DATA)")
    return root


def load_goemotions(root: Path):
    """(texts, Y) of train, dev and test, and the label names (training order, sorted)."""
    from tailtune.data import load_table
    from tailtune.data.labelsets import indicator, parse_sets

    d = root / "goemotions"
    kw = {"column_names": ["text", "labels", "id"], "label_columns": ["labels"],
          "label_names": d / "labels.txt", "multi_label_separator": ",",
          "multi_label": "sets"}  # fmt: skip
    frames = {s: load_table(d / f"{s}.tsv", **kw).frame for s in ("train", "dev", "test")}
    _, labels = indicator(parse_sets(frames["train"]["label"], ","))
    out = {}
    for s, f in frames.items():
        y, _ = indicator(parse_sets(f["label"], ","), labels)
        out[s] = (f["text"].tolist(), y)
    return out, labels


def features(train_texts, *others):
    """Word 1-2 + char_wb 2-5 TF-IDF (sublinear), fitted on training texts."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vecs = [
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
    ]
    x_train = hstack([v.fit_transform(train_texts) for v in vecs]).tocsr()
    return [x_train] + [hstack([v.transform(t) for v in vecs]).tocsr() for t in others]


def fit_ovr(x, y, c: float):
    """One L2 logistic regression per label."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    return OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear", max_iter=1000)).fit(x, y)


def rules(p_dev, y_dev, labels):
    """The decision rules compared, each tuned on dev only."""
    from tailtune.objectives.thresholds import SetRule, tune_set_rule

    shrink10 = tune_set_rule(p_dev, y_dev, labels, shrink=10)
    return {
        "fixed 0.5": SetRule.fixed(labels, 0.5),
        "global t": SetRule.fixed(labels, shrink10.global_threshold),
        "per-label, shrink 0": tune_set_rule(p_dev, y_dev, labels, shrink=0),
        "per-label, shrink 10": shrink10,
        "per-label, shrink 10 + at least one": tune_set_rule(
            p_dev, y_dev, labels, shrink=10, at_least_one=True
        ),
    }


def main(argv=None) -> int:
    from tailtune.evaluation.set_metrics import bootstrap_sets, paired_bootstrap_sets, set_metrics
    from tailtune.objectives.thresholds import tune_set_rule

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", default="1,4", help="inverse regularization values compared on dev")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    splits, labels = load_goemotions(data_root())
    (tr_t, y_tr), (dv_t, y_dv), (te_t, y_te) = splits["train"], splits["dev"], splits["test"]
    x_tr, x_dv, x_te = features(tr_t, dv_t, te_t)
    print(f"features: {x_tr.shape[1]:,} columns, {time.perf_counter() - t0:.0f} s")
    train_counts = dict(zip(labels, y_tr.sum(axis=0).tolist(), strict=True))

    best = None
    for c in (float(v) for v in args.C.split(",")):
        t = time.perf_counter()
        model = fit_ovr(x_tr, y_tr, c)
        p_dv = model.predict_proba(x_dv)
        dev = set_metrics(y_dv, tune_set_rule(p_dv, y_dv, labels).apply(p_dv), labels)["macro_f1"]
        print(
            f"C={c:g}: dev macro F1 (tuned thresholds) {dev:.4f}, fit {time.perf_counter() - t:.0f} s"
        )
        if best is None or dev > best[0]:
            best = (dev, c, model, p_dv)
    _, c, model, p_dv = best
    p_te = model.predict_proba(x_te)

    table, preds = [], {}
    for name, rule in rules(p_dv, y_dv, labels).items():
        pred = rule.apply(p_te)
        preds[name] = pred
        m = set_metrics(y_te, pred, labels, train_counts=train_counts)
        ci = bootstrap_sets(y_te, pred, n_boot=args.n_boot)["macro_f1"]
        table.append({"rule": name, **{k: m[k] for k in (
            "macro_f1", "micro_f1", "samples_f1", "zero_f1", "subset_accuracy", "hamming_loss",
            "empty_predictions", "zero_f1_labels")},
            "macro_f1_low": ci["low"], "macro_f1_high": ci["high"],
            "tiers": m["tiers"]})  # fmt: skip
    cmp = paired_bootstrap_sets(y_te, preds["fixed 0.5"], preds["per-label, shrink 10"],
                                n_boot=args.n_boot)  # fmt: skip
    print(f"\nGoEmotions test (5,427 comments, 28 labels), OvR logistic regression C={c:g}, "
          f"{time.perf_counter() - t0:.0f} s in all\n")  # fmt: skip
    print("| decision rule | macro F1 [95% CI] | micro F1 | samples F1 | zero-F1 labels | "
          "subset acc. | Hamming | no label |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['rule']} | {r['macro_f1']:.3f} [{r['macro_f1_low']:.3f}, "
              f"{r['macro_f1_high']:.3f}] | {r['micro_f1']:.3f} | {r['samples_f1']:.3f} | "
              f"{r['zero_f1']} | {r['subset_accuracy']:.3f} | {r['hamming_loss']:.4f} | "
              f"{r['empty_predictions']} |")  # fmt: skip
    d = cmp["macro_f1"]
    print(f"\nper-label shrink 10 vs fixed 0.5, paired bootstrap: macro F1 {d['diff']:+.3f} "
          f"[{d['low']:+.3f}, {d['high']:+.3f}], p(no gain) = {d['p_le_0']:.3f}")  # fmt: skip
    for r in table:
        if r["zero_f1_labels"]:
            print(f"zero-F1 labels under {r['rule']}: {', '.join(r['zero_f1_labels'])}")
    if args.json:
        args.json.write_text(json.dumps({"C": c, "rows": table, "paired": cmp}, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    raise SystemExit(main())

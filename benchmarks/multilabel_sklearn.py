"""GoEmotions as multi-label data (28 labels with neutral): a linear one-vs-rest baseline, and
tuned per-label thresholds against a fixed 0.5, side by side.

    python benchmarks/multilabel_sklearn.py [--C 1,4] [--embeddings minilm] [--n-boot 1000]
        [--json out.json]

Data: the data set's own train / dev / test files (43,410 / 5,426 / 5,427 comments), read by
``tailtune.data.load_table(multi_label="sets")``: every comment keeps all its labels (16% carry
two or more). Model: word 1-2 + char_wb 2-5 TF-IDF (sublinear tf) and one L2 logistic regression
per label (scikit-learn ``OneVsRestClassifier``, liblinear), fitted on train. ``--C`` values are
compared on dev macro F1 (per-label thresholds, tuned on dev); nothing is chosen on test.
``--embeddings minilm`` adds a second model, the same regression on all-MiniLM-L6-v2 sentence
embeddings (mean-pooled, max length 64, L2-normalized, cached where the embedding_head backend
caches them), and the blend ``w·TF-IDF + (1 − w)·embeddings`` of their probabilities, w chosen
on dev macro F1 in steps of 0.1.

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

import numpy as np

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


def embeddings(texts: list[str], model_name: str, max_length: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalized sentence embeddings, read from (or written to) the cache the
    embedding_head backend uses (same key: model, pooling, max length, texts)."""
    from tailtune.backends._embeddings import _default_cache, embed_texts, embedding_cache_key
    from tailtune.backends._hf import load_pretrained, load_tokenizer

    path = _default_cache() / f"{embedding_cache_key(model_name, 'mean', max_length, texts)}.npy"
    if path.is_file():
        x = np.load(path)
    else:
        model = load_pretrained("AutoModel", model_name).eval()
        x = embed_texts(model, load_tokenizer(model_name), texts, max_length=max_length)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.npy")
        np.save(tmp, x)
        tmp.replace(path)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


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


def choose_c(x_tr, y_tr, x_dv, y_dv, labels, cs, name):
    """The C with the best dev macro F1 (per-label thresholds tuned on dev): model, dev scores."""
    from tailtune.evaluation.set_metrics import set_metrics
    from tailtune.objectives.thresholds import tune_set_rule

    best = None
    for c in cs:
        t = time.perf_counter()
        model = fit_ovr(x_tr, y_tr, c)
        p_dv = model.predict_proba(x_dv)
        dev = set_metrics(y_dv, tune_set_rule(p_dv, y_dv, labels).apply(p_dv), labels)["macro_f1"]
        print(f"{name} C={c:g}: dev macro F1 (tuned thresholds) {dev:.4f}, "
              f"fit {time.perf_counter() - t:.0f} s", flush=True)  # fmt: skip
        if best is None or dev > best[0]:
            best = (dev, c, model, p_dv)
    return best[1], best[2], best[3]


def blend(p_a, p_b, y_dv, labels):
    """The weight w of ``w·a + (1 − w)·b`` (steps of 0.1) with the best dev macro F1."""
    from tailtune.evaluation.set_metrics import set_metrics
    from tailtune.objectives.thresholds import tune_set_rule

    scores = []
    for w in np.linspace(0, 1, 11):
        p = w * p_a + (1 - w) * p_b
        scores.append(
            set_metrics(y_dv, tune_set_rule(p, y_dv, labels).apply(p), labels)["macro_f1"]
        )
    return float(np.linspace(0, 1, 11)[int(np.argmax(scores))])


def main(argv=None) -> int:
    from tailtune.evaluation.set_metrics import bootstrap_sets, paired_bootstrap_sets, set_metrics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", default="1,4", help="inverse regularization values compared on dev")
    ap.add_argument("--embeddings", default=None,
                    help="also a model on this encoder's sentence embeddings (e.g. minilm) and "
                         "its blend with TF-IDF")  # fmt: skip
    ap.add_argument("--emb-C", default="1,4,16", help="C values of the embedding model")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    splits, labels = load_goemotions(data_root())
    (tr_t, y_tr), (dv_t, y_dv), (te_t, y_te) = splits["train"], splits["dev"], splits["test"]
    x_tr, x_dv, x_te = features(tr_t, dv_t, te_t)
    print(f"features: {x_tr.shape[1]:,} columns, {time.perf_counter() - t0:.0f} s", flush=True)
    train_counts = dict(zip(labels, y_tr.sum(axis=0).tolist(), strict=True))
    cs = [float(v) for v in args.C.split(",")]
    c, model, p_dv = choose_c(x_tr, y_tr, x_dv, y_dv, labels, cs, "tfidf")
    models = {f"TF-IDF OvR LR (C={c:g})": (p_dv, model.predict_proba(x_te))}
    if args.embeddings:
        t = time.perf_counter()
        e_tr, e_dv, e_te = (embeddings(x, args.embeddings) for x in (tr_t, dv_t, te_t))
        print(f"embeddings: {time.perf_counter() - t:.0f} s (0 when cached)", flush=True)
        ec = [float(v) for v in args.emb_C.split(",")]
        c2, emb, q_dv = choose_c(e_tr, y_tr, e_dv, y_dv, labels, ec, args.embeddings)
        models[f"{args.embeddings} embeddings OvR LR (C={c2:g})"] = (q_dv, emb.predict_proba(e_te))
        (a_dv, a_te), (b_dv, b_te) = list(models.values())
        w = blend(a_dv, b_dv, y_dv, labels)
        models[f"blend {w:.1f} TF-IDF + {1 - w:.1f} {args.embeddings}"] = (
            w * a_dv + (1 - w) * b_dv, w * a_te + (1 - w) * b_te)  # fmt: skip

    table, preds = [], {}
    for model_name, (m_dv, m_te) in models.items():
        for name, rule in rules(m_dv, y_dv, labels).items():
            pred = rule.apply(m_te)
            preds[(model_name, name)] = pred
            m = set_metrics(y_te, pred, labels, train_counts=train_counts)
            ci = bootstrap_sets(y_te, pred, n_boot=args.n_boot)["macro_f1"]
            table.append({"model": model_name, "rule": name, **{k: m[k] for k in (
                "macro_f1", "micro_f1", "samples_f1", "zero_f1", "subset_accuracy",
                "hamming_loss", "empty_predictions", "zero_f1_labels")},
                "macro_f1_low": ci["low"], "macro_f1_high": ci["high"],
                "tiers": m["tiers"]})  # fmt: skip
    print(f"\nGoEmotions test (5,427 comments, 28 labels), {time.perf_counter() - t0:.0f} s in "
          "all\n")  # fmt: skip
    print("| model | decision rule | macro F1 [95% CI] | micro F1 | samples F1 | zero-F1 labels "
          "| subset acc. | Hamming | no label |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['model']} | {r['rule']} | {r['macro_f1']:.3f} [{r['macro_f1_low']:.3f}, "
              f"{r['macro_f1_high']:.3f}] | {r['micro_f1']:.3f} | {r['samples_f1']:.3f} | "
              f"{r['zero_f1']} | {r['subset_accuracy']:.3f} | {r['hamming_loss']:.4f} | "
              f"{r['empty_predictions']} |")  # fmt: skip
    paired = {}
    for model_name in models:
        cmp = paired_bootstrap_sets(y_te, preds[(model_name, "fixed 0.5")],
                                    preds[(model_name, "per-label, shrink 10")],
                                    n_boot=args.n_boot)["macro_f1"]  # fmt: skip
        paired[model_name] = cmp
        print(f"\n{model_name}: per-label shrink 10 vs fixed 0.5, paired bootstrap: macro F1 "
              f"{cmp['diff']:+.3f} [{cmp['low']:+.3f}, {cmp['high']:+.3f}], "
              f"p(no gain) = {cmp['p_le_0']:.3f}")  # fmt: skip
    for r in table:
        if r["zero_f1_labels"]:
            print(f"zero-F1 labels, {r['model']}, {r['rule']}: {', '.join(r['zero_f1_labels'])}")
    if args.json:
        args.json.write_text(json.dumps({"rows": table, "paired": paired}, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    raise SystemExit(main())

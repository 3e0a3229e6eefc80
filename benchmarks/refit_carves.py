"""Refit vs selection for TF-IDF word+char w=sqrt + τ over five 10% carve seeds (test macro F1).

    python benchmarks/refit_carves.py cfpb      # or atis, banking77, goemotions

Shows whether a refit-minus-selection difference on one carve (benchmarks/quality.py --refit)
is a property of refitting or of which 10% was carved: the carve decides tau and which rare-class
examples the selection model never saw.
"""

import sys
import warnings

import numpy as np

sys.path.insert(0, "benchmarks")
warnings.filterwarnings("ignore")
from quality import data_root, load_dataset  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from tailtune.backends import freeze, make_backend  # noqa: E402
from tailtune.data.split import split_frame  # noqa: E402

name = sys.argv[1]
train, test = load_dataset(name, data_root())
Xt, yt = test["text"].tolist(), test["label"].astype(str).to_numpy()


def m(pred):
    return f1_score(yt, pred, average="macro", labels=np.unique(yt))


diffs = []
for seed in (42, 1, 2, 3, 4):
    parts = split_frame(train, val=0.1, seed=seed)
    fit, val = parts.train, parts.val
    Xf, yf = fit["text"].tolist(), fit["label"].astype(str).to_numpy()
    Xv, yv = val["text"].tolist(), val["label"].astype(str).to_numpy()
    sel = make_backend("tfidf", class_weights="sqrt_inverse", tune_posthoc_tau=True).fit(
        Xf, yf, eval_set=(Xv, yv)
    )
    ref = freeze(sel).fit(Xf + Xv, np.concatenate([yf, yv]))
    a, b = m(sel.predict(Xt)), m(ref.predict(Xt))
    diffs.append(b - a)
    print(
        f"{name} carve seed {seed}: selection {a:.4f} refit {b:.4f} diff {b - a:+.4f} tau {sel.posthoc_tau}",
        flush=True,
    )
print(f"{name} mean diff {np.mean(diffs):+.4f} sd {np.std(diffs, ddof=1):.4f}")

"""How configs/cfpb-tfidf.yaml chose C and label-name examples: 3-fold CV on the training split.

    python benchmarks/cfpb_cv.py

The CFPB split of configs/cfpb-tfidf.yaml (both CFPB samples, label Issue, classes with >= 2 examples, 20% stratified
validation, seed 42) is prepared exactly as `tailtune train configs/cfpb-tfidf.yaml` prepares
it; only its *training* part is used here, in 3 stratified folds (shuffled, seed 0), so the
validation split stays unseen by the choice. Each row is the tailtune TF-IDF backend (word 1-2
+ char_wb 2-5, LinearSVC) with the given C, weights and label-name copies; the figure is macro F1
on the held-out fold (over the classes present in it), mean and per fold.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# (C, class_weights, extra kwargs, label-name copies)
GRID = [
    (0.3, "inverse", {}, 0),
    (0.5, "inverse", {}, 0),
    (1.0, "inverse", {}, 0),
    (0.3, "inverse", {}, 1),
    (0.5, "inverse", {}, 1),
    (1.0, "inverse", {}, 1),
    (0.5, "sqrt_inverse", {}, 1),
    (0.5, "effective_number", {"beta": 0.99}, 1),
    (0.5, "effective_number", {"beta": 0.999}, 1),
    (0.5, "inverse", {"weight_cap": 10.0}, 1),
    (0.5, "inverse", {}, 2),
]


def main(argv=None) -> None:
    from sklearn.model_selection import StratifiedKFold

    from tailtune.backends import make_backend
    from tailtune.config import load_config
    from tailtune.evaluation import compute_metrics
    from tailtune.objectives.label_names import label_name_examples
    from tailtune.workflow.prepare import prepare_data

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    data = Path(os.environ.get("TAILTUNE_SHARED_DATA") or REPO / ".." / "shared" / "data")
    files = [
        data / "cfpb/bdm_complaints_sample_2015-2020.csv",
        data / "cfpb/payday_personal_loan_narratives_2023.csv",
    ]
    cfg = load_config(REPO / "configs/cfpb-tfidf.yaml", [f"data.path=[{files[0]}, {files[1]}]"])
    train = prepare_data(cfg).train
    texts = np.asarray(train["text"].tolist(), dtype=object)
    labels = train["label"].astype(str).to_numpy()
    classes = sorted(set(labels))
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(texts, labels))
    print(f"{len(labels)} training rows, {len(classes)} classes, {args.folds} folds")
    print("| C | class weights | names | mean macro F1 | per fold |")
    print("|---|---|---|---|---|")
    for C, scheme, extra, copies in GRID:
        scores = []
        for fit_idx, held_idx in folds:
            names_x, names_y = label_name_examples(classes, copies)
            backend = make_backend(
                "tfidf", char_ngrams=(2, 5), C=C, class_weights=scheme, seed=cfg.seed, **extra
            )
            backend.fit(list(texts[fit_idx]) + names_x, list(labels[fit_idx]) + names_y)
            pred = backend.predict(list(texts[held_idx]))
            scores.append(compute_metrics(labels[held_idx], pred)["macro_f1"])
        weights = scheme + "".join(f", {k}={v:g}" for k, v in extra.items())
        per_fold = " / ".join(f"{s:.3f}" for s in scores)
        print(f"| {C:g} | {weights} | {copies} | {np.mean(scores):.4f} | {per_fold} |", flush=True)


if __name__ == "__main__":
    main()

"""Guards on the four real data sets: what fires on healthy runs, and on shuffled labels.

    python benchmarks/guards.py [--datasets atis,banking77,cfpb,goemotions] [--epochs 4]
    python benchmarks/guards.py --sets [--epochs 4]      # GoEmotions as label sets

For each data set (loaded as benchmarks/quality.py does; a 10% stratified validation split is
carved from the training data): the leakage check on validation / test against training and
test against validation; a TF-IDF run (``TfidfBackend``, guards on its validation predictions);
and a neural run of the training loop (a linear head on 256 SVD components of TF-IDF, the live
guards after every evaluation). Then the same two runs on the training labels shuffled (the
texts kept): the guards should name the labels as unrelated. Prints one line per run with its
validation macro F1 and every finding. ``--sets`` does the same on GoEmotions read as label
sets (its own multi-label form; a 10% validation split by iterative stratification): a TF-IDF
one-vs-rest run (the prediction guards on the sets its 0.5 thresholds give) and the training
loop with binary cross-entropy on the same SVD features (live guards), healthy and with the
training sets shuffled.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, data_root, load_dataset  # noqa: E402


def head_run(train, val, epochs: int):
    """The training loop on a linear head over SVD-reduced TF-IDF (findings, macro F1)."""
    import torch
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tailtune.objectives.losses import build_loss
    from tailtune.training import TrainSettings, fit_classifier

    classes = sorted(set(train["label"]))
    index = {c: i for i, c in enumerate(classes)}
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2))
    svd = TruncatedSVD(256, random_state=0)
    x = svd.fit_transform(tfidf.fit_transform(train["text"])).astype(np.float32)
    scale = x.std() or 1.0
    xv = (svd.transform(tfidf.transform(val["text"])) / scale).astype(np.float32)
    x = x / scale
    keep = val["label"].isin(index).to_numpy()

    def items(feats, labels):
        return [{"features": f, "labels": index[y]} for f, y in zip(feats, labels, strict=True)]

    def collate(batch):
        return {"features": torch.from_numpy(np.stack([b["features"] for b in batch])),
                "labels": torch.tensor([b["labels"] for b in batch])}  # fmt: skip

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = torch.nn.Linear(x.shape[1], len(classes))

        def forward(self, features):
            return self.classifier(features)

    torch.manual_seed(0)
    settings = TrainSettings(lr=0.01, epochs=epochs, batch_size=64, progress=False,
                             patience=None, seed=0, num_threads=2)  # fmt: skip
    result = fit_classifier(Head(), items(x, train["label"]), collate=collate,
                            loss_fn=build_loss("ce"), num_classes=len(classes), settings=settings,
                            eval_items=items(xv[keep], val["label"][keep]))  # fmt: skip
    return result.info["guards"], max(h["macro_f1"] for h in result.history)


def svd_features(train_texts, val_texts):
    """256 SVD components of word 1-2-gram TF-IDF, scaled to unit standard deviation."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2))
    svd = TruncatedSVD(256, random_state=0)
    x = svd.fit_transform(tfidf.fit_transform(train_texts)).astype(np.float32)
    scale = x.std() or 1.0
    return x / scale, (svd.transform(tfidf.transform(val_texts)) / scale).astype(np.float32)


def set_head_run(x, y, xv, yv, names, epochs: int):
    """The training loop on label sets: a linear head with binary cross-entropy (findings,
    the highest validation macro F1)."""
    import torch

    from tailtune.objectives import ObjectiveSettings
    from tailtune.training import TrainSettings, fit_classifier
    from tailtune.training.objective import make_set_loss, set_metrics_fn

    def items(feats, labels):
        return [{"features": f, "labels": t} for f, t in zip(feats, labels.astype(np.float32),
                                                              strict=True)]  # fmt: skip

    def collate(batch):
        return {"features": torch.from_numpy(np.stack([b["features"] for b in batch])),
                "labels": torch.from_numpy(np.stack([b["labels"] for b in batch]))}  # fmt: skip

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = torch.nn.Linear(x.shape[1], len(names))

        def forward(self, features):
            return self.classifier(features)

    torch.manual_seed(0)
    objective = ObjectiveSettings()
    settings = TrainSettings(lr=0.01, epochs=epochs, batch_size=64, progress=False,
                             patience=None, seed=0, num_threads=2)  # fmt: skip
    result = fit_classifier(Head(), items(x, y), collate=collate,
                            loss_fn=make_set_loss(y, objective), num_classes=len(names),
                            settings=settings, eval_items=items(xv, yv),
                            metrics_fn=set_metrics_fn(objective, names))  # fmt: skip
    return result.info["guards"], max(h["macro_f1"] for h in result.history)


def set_tfidf_run(train_texts, train_sets, val_texts, yv, names):
    """TfidfBackend on label sets and the prediction guards (findings, macro F1)."""
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.data.labelsets import indicator
    from tailtune.evaluation.set_metrics import set_metrics
    from tailtune.guards import check_set_predictions

    model = TfidfBackend().fit(train_texts, train_sets)
    classes = [str(c) for c in model.classes_]
    assert classes == names
    pred = model.rule_.apply(model.predict_proba(val_texts))
    y = indicator(train_sets, names)[0]

    def train_fit():
        return y, model.rule_.apply(model.predict_proba(train_texts))

    found = check_set_predictions(yv, pred, y.mean(axis=0), train_fit, names)
    return [f.to_dict() for f in found], set_metrics(yv, pred, names)["macro_f1"]


def sets_main(epochs: int) -> None:
    """GoEmotions as label sets: healthy and shuffled, TF-IDF and the loop."""
    from tailtune.data import load_table
    from tailtune.data.labelsets import indicator, parse_sets
    from tailtune.data.split_sets import split_sets

    root = data_root()
    frame = load_table(root / "goemotions/train.tsv", format="tsv",
                       column_names=["text", "labels", "id"], text_columns=["text"],
                       label_columns=["labels"], label_names=root / "goemotions/labels.txt",
                       multi_label_separator=",", multi_label="sets").frame  # fmt: skip
    parts = split_sets(frame, ",", val=0.1, seed=42)
    train, val = parts.train.reset_index(drop=True), parts.val.reset_index(drop=True)
    train_sets = parse_sets(train["label"], ",")
    y, names = indicator(train_sets)
    yv = indicator(parse_sets(val["label"], ","), names)[0]
    print(f"goemotions (label sets): {len(train):,} train / {len(val):,} val, {len(names)} "
          f"labels, {np.mean(y.sum(axis=1) > 1):.1%} of training texts with several")  # fmt: skip
    texts, vtexts = train["text"].tolist(), val["text"].tolist()
    leaks = check_leakage_lines(texts, vtexts, None)
    print("  leakage: " + (leaks or "none"))
    x, xv = svd_features(texts, vtexts)
    show("tfidf (sets)", *set_tfidf_run(texts, train_sets, vtexts, yv, names))
    show("loop (sets)", *set_head_run(x, y, xv, yv, names, epochs))
    order = list(range(len(train)))
    random.Random(0).shuffle(order)
    shuffled = [train_sets[i] for i in order]
    show("tfidf (sets), shuffled", *set_tfidf_run(texts, shuffled, vtexts, yv, names))
    show("loop (sets), shuffled", *set_head_run(x, y[order], xv, yv, names, epochs))


def check_leakage_lines(train, val, test) -> str:
    """The leakage findings as one line (empty: none)."""
    from tailtune.guards import check_leakage

    return "; ".join(f.cause for f in check_leakage(train, val, test))


def tfidf_run(train, val):
    """TfidfBackend and the guards on its validation predictions (findings, macro F1)."""
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.evaluation import compute_metrics
    from tailtune.guards import check_predictions

    model = TfidfBackend().fit(train["text"].tolist(), train["label"].tolist())
    pred = model.predict(val["text"].tolist())
    gold = val["label"].astype(str).to_numpy()

    def train_fit():
        return train["label"].astype(str).to_numpy(), model.predict(train["text"].tolist())

    found = check_predictions(gold, pred, dict(Counter(train["label"])), train_fit)
    return [f.to_dict() for f in found], compute_metrics(gold, pred)["macro_f1"]


def show(name: str, found, macro_f1: float) -> None:
    guards = "; ".join(f"{f['guard']}: {f['cause']} {f['evidence']}" for f in found) or "none"
    print(f"  {name:<22} val macro F1 {macro_f1:.3f}  findings: {guards}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--sets", action="store_true", help="GoEmotions as label sets instead")
    args = ap.parse_args()
    if args.sets:
        return sets_main(args.epochs)
    from tailtune.data.split import split_frame
    from tailtune.guards import check_leakage

    for name in args.datasets.split(","):
        full, test = load_dataset(name, data_root())
        parts = split_frame(full, val=0.1, seed=42)
        train, val = parts.train.reset_index(drop=True), parts.val.reset_index(drop=True)
        print(f"{name}: {len(train):,} train / {len(val):,} val / {len(test):,} test, "
              f"{train['label'].nunique()} classes")  # fmt: skip
        leaks = check_leakage(train["text"].tolist(), val["text"].tolist(), test["text"].tolist())
        for f in leaks:
            print(f"  leakage: {f.cause} (exact {f.evidence['exact']}, after normalising "
                  f"{f.evidence['after_normalising']}, share {f.evidence['share']})")  # fmt: skip
        if not leaks:
            print("  leakage: none")
        show("tfidf", *tfidf_run(train, val))
        show("loop (linear head)", *head_run(train, val, args.epochs))
        shuffled = train.copy()
        labels = shuffled["label"].tolist()
        random.Random(0).shuffle(labels)
        shuffled["label"] = labels
        show("tfidf, shuffled", *tfidf_run(shuffled, val))
        show("loop, shuffled", *head_run(shuffled, val, args.epochs))


if __name__ == "__main__":
    main()

"""Guards on the four real data sets: what fires on healthy runs, and on shuffled labels.

    python benchmarks/guards.py [--datasets atis,banking77,cfpb,goemotions] [--epochs 4]

For each data set (loaded as benchmarks/quality.py does; a 10% stratified validation split is
carved from the training data): the leakage check on validation / test against training and
test against validation; a TF-IDF run (``TfidfBackend``, guards on its validation predictions);
and a neural run of the training loop (a linear head on 256 SVD components of TF-IDF, the live
guards after every evaluation). Then the same two runs on the training labels shuffled (the
texts kept): the guards should name the labels as unrelated. Prints one line per run with its
validation macro F1 and every finding.
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
    args = ap.parse_args()
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

"""Guards on the four real data sets: what fires on healthy runs, and on shuffled labels.

    python benchmarks/guards.py [--datasets atis,banking77,cfpb,goemotions] [--epochs 4]
    python benchmarks/guards.py --sets [--epochs 4]      # GoEmotions as label sets
    python benchmarks/guards.py --backend embedding_head --datasets cfpb --seeds 42,43,44 \
        [--max-length 64] [--shuffled] [--histories FILE]
    python benchmarks/guards.py --recipe --datasets cfpb --seeds 43,44 [--max-length 256]
    python benchmarks/guards.py --sets --backend embedding_head --seeds 42,43 [--shuffled]
    python benchmarks/guards.py --subsample 150,300,600 [--repeats 5]   # small healthy sets
    python benchmarks/guards.py --backend embedding_head --eval-every 10 --patience 0 ...

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

``--backend embedding_head``: healthy runs of the embedding-head backend instead, as the
cpu-longtail recipe configures its member (frozen all-MiniLM-L6-v2, a linear head with
sqrt-inverse class weights, lr 0.003, up to 30 epochs, early stopping with patience 5) at
``--max-length``, one run per seed in ``--seeds`` (the seed draws the 10% validation split and
the head's initialisation and batch order), early stopping and the live guards on that split;
``--shuffled`` adds the same runs on shuffled training labels. ``--recipe``: the whole
cpu-longtail recipe (an ensemble whose members train on a 90% carve of the training split and
stop early on the other 10%, class names added as training texts, as benchmarks/
ingredients.py fits it) at each seed, printing every member's guard findings. Embeddings are
read from the shared cache (each set's training texts are embedded once per process, then every
split reads them back). ``--histories`` appends every loop run's history (one JSON object a
line: the run, its class counts and every evaluation's figures) so the rules can be re-read
without training again. ``--subsample``: healthy TF-IDF runs on random subsamples of each set
(``--repeats`` per size, classes with a single row dropped, 20% stratified validation): what
the prediction guards say when validation has a few dozen rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, data_root, load_dataset, with_label_names  # noqa: E402


def head_run(train, val, epochs: int, threads: int = 1):
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
                             patience=None, seed=0, num_threads=threads)  # fmt: skip
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


def set_head_run(x, y, xv, yv, names, epochs: int, threads: int = 1):
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
                             patience=None, seed=0, num_threads=threads)  # fmt: skip
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


def goemotions_sets():
    """GoEmotions' training file read as label sets (its own multi-label form)."""
    from tailtune.data import load_table

    root = data_root()
    return load_table(root / "goemotions/train.tsv", format="tsv",
                      column_names=["text", "labels", "id"], text_columns=["text"],
                      label_columns=["labels"], label_names=root / "goemotions/labels.txt",
                      multi_label_separator=",", multi_label="sets").frame  # fmt: skip


def sets_head_main(args) -> None:
    """``--sets --backend embedding_head``: the recipe's head on GoEmotions' label sets (one
    sigmoid per label, sqrt-inverse positive weights, thresholds tuned on validation), one run
    per seed, healthy and (``--shuffled``) on shuffled training sets."""
    import time

    from tailtune.data.labelsets import parse_sets
    from tailtune.data.split_sets import split_sets

    frame = goemotions_sets()
    c0 = time.process_time()
    # the single-label rows first (cached by --backend embedding_head): only the texts with
    # several labels are left to embed
    warm_embeddings(load_dataset("goemotions", data_root())[0]["text"], args.max_length,
                    args.threads)  # fmt: skip
    warm_embeddings(frame["text"].tolist(), args.max_length, args.threads)
    print(f"goemotions (label sets): {len(frame):,} training texts; embeddings ready "
          f"({time.process_time() - c0:.0f} CPU s)", flush=True)  # fmt: skip
    for seed in (int(x) for x in args.seeds.split(",")):
        c0 = time.process_time()
        parts = split_sets(frame, ",", val=0.1, seed=seed)
        train, val = parts.train.reset_index(drop=True), parts.val.reset_index(drop=True)
        sets, vsets = parse_sets(train["label"], ","), parse_sets(val["label"], ",")
        runs = [("head (sets)", sets)]
        if args.shuffled:
            order = list(range(len(sets)))
            random.Random(seed).shuffle(order)
            runs.append(("head (sets), shuffled", [sets[i] for i in order]))
        for run, labels in runs:
            head = recipe_head(seed, args.max_length, args.threads)
            head.fit(train["text"].tolist(), labels, eval_set=(val["text"].tolist(), vsets))
            history_log(args.histories, set="goemotions-sets", seed=seed, run=run)(
                head.history_, None
            )
            found = head.info_.get("guards", [])
            show(f"seed {seed} {run}", found, max(h["macro_f1"] for h in head.history_))
        print(f"  ({len(train):,} train / {len(val):,} val; "
              f"{time.process_time() - c0:.0f} CPU s)", flush=True)  # fmt: skip


def sets_main(epochs: int) -> None:
    """GoEmotions as label sets: healthy and shuffled, TF-IDF and the loop."""
    from tailtune.data.labelsets import indicator, parse_sets
    from tailtune.data.split_sets import split_sets

    frame = goemotions_sets()
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


def recipe_config(seed: int, max_length: int, threads: int):
    """The cpu-longtail recipe's config at ``seed`` and ``max_length``."""
    from tailtune.config import load_config, recipe_path

    return load_config(recipe_path("cpu-longtail"), [f"seed={seed}", f"model.max_length={max_length}",
                       f"train.num_threads={threads}"])  # fmt: skip


def recipe_head(seed: int, max_length: int, threads: int):
    """The embedding-head member of the cpu-longtail recipe, as the ensemble builds it."""
    from tailtune.backends import build_backend
    from tailtune.backends._registry import as_stage
    from tailtune.backends.ensemble import without_posthoc
    from tailtune.backends.params import clone

    ens = build_backend(recipe_config(seed, max_length, threads))
    head = without_posthoc(clone(as_stage(ens.members[1], "member", seed)))
    # no progress bar in the log; --eval-every / --patience where given
    head.train = dataclasses.replace(head.train, progress=False, **TRAIN_OVERRIDES)
    return head


TRAIN_OVERRIDES: dict = {}
"""Loop settings the command line changes for every embedding-head run (train.eval_every,
train.patience)."""


def warm_embeddings(texts, max_length: int, threads: int) -> None:
    """Embed ``texts`` once (disk cache, then this process's memo): every split of them reads
    its rows back without running the encoder."""
    recipe_head(0, max_length, threads)._embed(list(texts))


def embedding_head_run(train, val, seed: int, max_length: int, threads: int, log=None):
    """The recipe's embedding head on ``train``, early stopping and live guards on ``val``
    (findings, the highest validation macro F1)."""
    head = recipe_head(seed, max_length, threads)
    keep = val["label"].isin(set(train["label"])).to_numpy()
    head.fit(train["text"].tolist(), train["label"].astype(str).to_numpy(dtype=object),
             eval_set=(val["text"][keep].tolist(),
                       val["label"][keep].astype(str).to_numpy(dtype=object)))  # fmt: skip
    if log is not None:
        log(head.history_, dict(Counter(train["label"].astype(str))))
    return head.info_.get("guards", []), max(h["macro_f1"] for h in head.history_)


def recipe_run(name: str, train, seed: int, max_length: int, threads: int, log=None):
    """The whole cpu-longtail recipe at ``seed`` on ``train``: (member name, findings, the
    highest macro F1 on the carve) for each member with a training curve."""
    from tailtune.backends import build_backend

    cfg = recipe_config(seed, max_length, threads)
    ens = build_backend(cfg)
    texts, labels = with_label_names(train["text"].tolist(), train["label"].astype(str).to_numpy(),
                                     cfg.objective.label_name_examples)  # fmt: skip
    ens.fit(texts, labels)
    out = []
    for i, member in enumerate(ens.members_):
        if not member.history_:
            continue
        if log is not None:
            log(member.history_, None, member=f"member{i} {member.name}")
        out.append((f"member{i} {member.name}", member.info_.get("guards", []),
                    max(h["macro_f1"] for h in member.history_)))  # fmt: skip
    print(f"  recipe seed {seed}: fit on {ens.info_['fit_size']:,} rows, carve of "
          f"{ens.info_['tune_size']:,} rows, weights {ens.info_['weights']}, "
          f"τ {ens.info_['posthoc_tau']}")  # fmt: skip
    return out


def history_log(path: str | None, **run):
    """A callable appending one loop run's history to the JSON-lines file ``path``."""

    def write(history, train_counts, **more):
        if path is None:
            return
        with open(path, "a", encoding="utf-8") as fh:
            body = {**run, **more, "train_counts": train_counts, "history": history}
            fh.write(json.dumps(body, default=float) + "\n")

    return write


def neural_main(args) -> None:
    """``--backend embedding_head`` and ``--recipe``: several seeds per set."""
    import time

    from tailtune.data.split import split_frame

    seeds = [int(x) for x in args.seeds.split(",")]
    for name in args.datasets.split(","):
        full, _ = load_dataset(name, data_root())
        t0, c0 = time.perf_counter(), time.process_time()
        texts = full["text"].tolist()
        if args.recipe:  # the class names join the training texts
            texts = with_label_names(texts, full["label"].astype(str).to_numpy())[0]
        warm_embeddings(texts, args.max_length, args.threads)
        print(f"{name}: {len(full):,} training rows, {full['label'].nunique()} classes; "
              f"embeddings (max_length {args.max_length}) ready in {time.perf_counter() - t0:.0f}"
              f" s ({time.process_time() - c0:.0f} CPU s)", flush=True)  # fmt: skip
        for seed in seeds:
            c0 = time.process_time()
            if args.recipe:
                log = history_log(args.histories, set=name, seed=seed, run="recipe")
                for member, found, f1 in recipe_run(name, full, seed, args.max_length,
                                                    args.threads, log):  # fmt: skip
                    show(f"seed {seed} {member}", found, f1)
                print(f"  ({time.process_time() - c0:.0f} CPU s)", flush=True)
                continue
            parts = split_frame(full, val=0.1, seed=seed)
            train, val = parts.train.reset_index(drop=True), parts.val.reset_index(drop=True)
            runs = [("head", train)]
            if args.shuffled:
                shuffled = train.copy()
                labels = shuffled["label"].tolist()
                random.Random(seed).shuffle(labels)
                shuffled["label"] = labels
                runs.append(("head, shuffled", shuffled))
            for run, rows in runs:
                log = history_log(args.histories, set=name, seed=seed, run=run)
                found, f1 = embedding_head_run(rows, val, seed, args.max_length, args.threads, log)
                show(f"seed {seed} {run}", found, f1)
            print(f"  ({len(train):,} train / {len(val):,} val; "
                  f"{time.process_time() - c0:.0f} CPU s)", flush=True)  # fmt: skip


def subsample_main(args) -> None:
    """``--subsample``: healthy TF-IDF runs on small random subsamples of each set."""
    from tailtune.data.split import split_frame

    sizes = [int(x) for x in args.subsample.split(",")]
    for name in args.datasets.split(","):
        full, _ = load_dataset(name, data_root())
        for n in sizes:
            for seed in range(args.repeats):
                sub = full.sample(n=min(n, len(full)), random_state=seed)
                sub = sub[sub["label"].map(sub["label"].value_counts()) >= 2]
                parts = split_frame(sub, val=0.2, seed=seed)
                train, val = parts.train.reset_index(drop=True), parts.val.reset_index(drop=True)
                rows = Counter(train["label"]).values()
                print(f"{name} {n} rows, subsample {seed}: {len(train)} train / {len(val)} val,"
                      f" {len(rows)} classes, median {int(np.median(list(rows)))} training rows"
                      " per class")  # fmt: skip
                show("  tfidf", *tfidf_run(train, val))


def check_leakage_lines(train, val, test) -> str:
    """The leakage findings as one line (empty: none)."""
    from tailtune.guards import check_leakage

    return "; ".join(f.cause for f in check_leakage(train, val, test))


def tfidf_run(train, val):
    """TfidfBackend and the guards on its validation predictions (findings, macro F1)."""
    from tailtune.backends.params import clone
    from tailtune.backends.tfidf import TfidfBackend
    from tailtune.evaluation import compute_metrics
    from tailtune.guards import check_predictions
    from tailtune.guards.final import cross_fitted

    model = TfidfBackend().fit(train["text"].tolist(), train["label"].tolist())
    pred = model.predict(val["text"].tolist())
    gold = val["label"].astype(str).to_numpy()

    def train_fit():
        return train["label"].astype(str).to_numpy(), model.predict(train["text"].tolist())

    def held_out():  # the training rows, each predicted by a model that never saw it
        return cross_fitted(lambda: clone(model), train["text"].tolist(), train["label"])

    found = check_predictions(gold, pred, dict(Counter(train["label"])), train_fit, held_out)
    return [f.to_dict() for f in found], compute_metrics(gold, pred)["macro_f1"]


def show(name: str, found, macro_f1: float) -> None:
    guards = "; ".join(f"{f['guard']}: {f['cause']} {f['evidence']}" for f in found) or "none"
    print(f"  {name:<22} val macro F1 {macro_f1:.3f}  findings: {guards}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--sets", action="store_true", help="GoEmotions as label sets instead")
    ap.add_argument("--backend", choices=["linear", "embedding_head"], default="linear",
                    help="linear: TF-IDF and a linear head on SVD features (the default runs); "
                    "embedding_head: the recipe's MiniLM head, one run per seed")  # fmt: skip
    ap.add_argument(
        "--recipe",
        action="store_true",
        help="the whole cpu-longtail recipe per seed; its members' findings",
    )
    ap.add_argument("--seeds", default="42", help="comma-separated seeds (neural runs)")
    ap.add_argument("--max-length", type=int, default=64, help="MiniLM tokens per text")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument(
        "--shuffled",
        action="store_true",
        help="--backend embedding_head: also on shuffled training labels",
    )
    ap.add_argument("--histories", default=None, help="JSON-lines file for every history")
    ap.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="embedding-head runs: evaluate every N steps (train.eval_every)",
    )
    ap.add_argument(
        "--patience",
        type=int,
        default=None,
        help="embedding-head runs: early-stopping patience (0: none)",
    )
    ap.add_argument(
        "--subsample",
        default=None,
        help="comma-separated row counts: healthy TF-IDF runs on subsamples",
    )
    ap.add_argument("--repeats", type=int, default=5, help="--subsample: subsamples per size")
    args = ap.parse_args()
    if args.subsample:
        return subsample_main(args)
    if args.eval_every is not None:
        TRAIN_OVERRIDES["eval_every"] = args.eval_every
    if args.patience is not None:
        TRAIN_OVERRIDES["patience"] = args.patience or None
    if args.sets:
        return sets_head_main(args) if args.backend == "embedding_head" else sets_main(args.epochs)
    if args.recipe or args.backend == "embedding_head":
        return neural_main(args)
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
        show("loop (linear head)", *head_run(train, val, args.epochs, args.threads))
        shuffled = train.copy()
        labels = shuffled["label"].tolist()
        random.Random(0).shuffle(labels)
        shuffled["label"] = labels
        show("tfidf, shuffled", *tfidf_run(shuffled, val))
        show("loop, shuffled", *head_run(shuffled, val, args.epochs, args.threads))


if __name__ == "__main__":
    main()

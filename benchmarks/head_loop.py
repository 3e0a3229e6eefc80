"""Seconds per epoch of the embedding-head fit against a plain torch loop over the same tensors.

    python benchmarks/head_loop.py                 # synthetic GoEmotions shape, 3 epochs each
    python benchmarks/head_loop.py --epochs 5 --batch-size 64 --real

Both sides train the embedding head's own module (``head: linear`` by default, ``--head mlp``)
on one thread (``torch.set_num_threads(1)``), with AdamW at the same learning rate and batch size,
the same loss (``training.objective.make_loss`` with sqrt-inverse class weights for single
labels, ``make_set_loss`` BCE for label sets), and score the validation rows once per epoch:

- ``plain``: ``for idx in randperm(n).split(batch): loss(head(x[idx]), y[idx])``, backward, step;
  one forward pass over the validation rows per epoch (no metrics, no early stopping);
- ``tailtune``: ``EmbeddingHeadBackend.fit`` (the shared training loop with its guards, early
  stopping bookkeeping, checkpoints in a temporary work folder, per-epoch validation metrics and,
  for label sets, threshold tuning), the embeddings handed over in place of the encoder's.

Data: synthetic unit vectors of the GoEmotions shape (43,410 training rows, 5,426 validation
rows, 384 dimensions, 28 classes with Zipf-like frequencies; label sets draw each label with
probability 0.6/rank, at least one per row), or with ``--real`` the cached all-MiniLM-L6-v2
embeddings of GoEmotions' training comments as label sets, 5,426 of them held out as the
validation rows (the cache must exist: ``benchmarks/multilabel_sklearn.py`` writes it). Figures are process CPU seconds (one thread,
so CPU seconds are the work done, whatever the machine's load), setup included, divided by the
epochs; one untimed small fit first pays the imports for both.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_TRAIN, N_VAL, DIM, K = 43_410, 5_426, 384, 28


def synthetic(multi: bool, seed: int = 0):
    """(x_train, labels_train, x_val, labels_val): unit rows and string labels (sets: tuples)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_TRAIN + N_VAL, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    w = 1.0 / np.arange(1, K + 1)
    if multi:
        draws = rng.random((len(x), K)) < 0.6 * w
        draws[~draws.any(axis=1), 0] = True
        labels = [tuple(f"c{j}" for j in np.flatnonzero(row)) for row in draws]
    else:
        labels = [f"c{j}" for j in rng.choice(K, size=len(x), p=w / w.sum())]
    return x[:N_TRAIN], labels[:N_TRAIN], x[N_TRAIN:], labels[N_TRAIN:]


def real():
    """GoEmotions' training comments: cached MiniLM embeddings and label sets (no encoder run);
    a seeded 5,426 of them (the dev split's size) are the validation rows."""
    import multilabel_sklearn as ml

    from tailtune.backends._embeddings import _default_cache, embedding_cache_key

    splits, names = ml.load_goemotions(ml.data_root())
    texts, y = splits["train"]
    path = _default_cache() / f"{embedding_cache_key('minilm', 'mean', 64, texts)}.npy"
    if not path.is_file():
        sys.exit(f"error: --real: {path}: no cached embeddings of GoEmotions' training comments; "
                 "run benchmarks/multilabel_sklearn.py first")  # fmt: skip
    x = ml.embeddings(texts, "minilm").astype(np.float32)
    sets = [tuple(names[j] for j in np.flatnonzero(row)) for row in y]
    order = np.random.default_rng(0).permutation(len(x))
    val, tr = order[:N_VAL], order[N_VAL:]
    return x[tr], [sets[i] for i in tr], x[val], [sets[i] for i in val]


def backend(args, multi: bool, epochs: float):
    from tailtune.backends.embedding_head import EmbeddingHeadBackend, HeadSettings
    from tailtune.objectives.settings import ObjectiveSettings
    from tailtune.training.settings import TrainSettings

    objective = (
        ObjectiveSettings(set_loss="bce", tune_thresholds=True, threshold_shrink=10)
        if multi
        else ObjectiveSettings(class_weights="sqrt_inverse")
    )
    train = TrainSettings(epochs=epochs, batch_size=args.batch_size, lr=args.lr, patience=None,
                          num_threads=1, progress=False, refit=False)  # fmt: skip
    return EmbeddingHeadBackend(
        train=train, objective=objective, embedding=HeadSettings(head=args.head)
    )


def tailtune_fit(args, data, multi: bool, epochs: float) -> tuple[float, object]:
    """CPU seconds of ``EmbeddingHeadBackend.fit`` on the given embeddings, and the backend."""
    x_tr, y_tr, x_va, y_va = data
    texts = [f"row {i}" for i in range(len(x_tr) + len(x_va))]
    given = {(texts[0], len(x_tr)): x_tr, (texts[len(x_tr)], len(x_va)): x_va}
    b = backend(args, multi, epochs)
    # the arrays stand in for the encoder's embeddings, handed over without a copy (a cached run
    # reads them from disk instead): the figure is the fit's, not the hand-over's
    b._embed = lambda ts: (given[ts[0], len(ts)], True)
    b._encoder_size = lambda ts: None
    with tempfile.TemporaryDirectory() as work:
        t0 = time.process_time()
        b.fit(texts[: len(x_tr)], y_tr, eval_set=(texts[len(x_tr) :], y_va), work_dir=work)
        return time.process_time() - t0, b


def plain_fit(args, data, multi: bool, epochs: int) -> float:
    """CPU seconds of a plain torch loop over the same tensors, head and loss."""
    import torch

    from tailtune.backends._sets import as_sets
    from tailtune.backends.embedding_head import HeadSettings, _head_model
    from tailtune.backends.labels import LabelSpace
    from tailtune.training.objective import make_loss, make_set_loss

    x_tr, y_tr, x_va, _ = data
    b = backend(args, multi, epochs)
    if multi:
        space = LabelSpace.from_sets(as_sets(y_tr))
        y = space.encode(as_sets(y_tr))
        loss_fn, target = make_set_loss(y, b.objective), torch.as_tensor(y, dtype=torch.float32)
    else:
        space = LabelSpace.from_labels(list(y_tr))
        y = space.encode(list(y_tr))
        loss_fn = make_loss(np.bincount(y, minlength=len(space.classes)), b.objective)
        target = torch.as_tensor(y, dtype=torch.long)
    t0 = time.process_time()
    torch.manual_seed(0)
    x, xv = torch.from_numpy(x_tr), torch.from_numpy(x_va)
    head = _head_model(x.shape[1], len(space.classes), HeadSettings(head=args.head))
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
    for _ in range(epochs):
        head.train()
        for idx in torch.randperm(len(x)).split(args.batch_size):
            loss = loss_fn(head(x[idx]), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            head(xv)
    return time.process_time() - t0


def main(argv=None) -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="64: the cpu-longtail recipe's")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--head", choices=("linear", "mlp"), default="linear")
    ap.add_argument("--real", action="store_true", help="also GoEmotions' cached embeddings")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    import tailtune

    print(f"tailtune from {Path(tailtune.__file__).parent}; torch {torch.__version__}, 1 thread; "
          f"head {args.head}, batch {args.batch_size}, lr {args.lr:g}, {args.epochs} epochs")  # fmt: skip
    cases = [("synthetic single-label", synthetic(False), False),
             ("synthetic label sets", synthetic(True), True)]  # fmt: skip
    if args.real:
        cases.append(("GoEmotions label sets (cached MiniLM)", real(), True))
    warm = tuple(part[:2000] for part in cases[0][1])  # imports and lazy set-up, untimed
    tailtune_fit(args, warm, False, 1)
    plain_fit(args, warm, False, 1)
    print("| data | rows | tailtune CPU s/epoch | plain CPU s/epoch | ratio |")
    print("|---|---|---|---|---|")
    for name, data, multi in cases:
        t_tt, b = tailtune_fit(args, data, multi, args.epochs)
        t_plain = plain_fit(args, data, multi, args.epochs)
        steps = b.info_.get("steps", b.history_[-1]["step"] if b.history_ else "?")
        a, p = t_tt / args.epochs, t_plain / args.epochs
        print(f"| {name} | {len(data[0])} ({steps} steps) | {a:.2f} | {p:.2f} | {a / p:.1f}x |",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())

"""Which multi-label loss suits a linear head on frozen MiniLM embeddings of GoEmotions? Dev only.

    python benchmarks/multilabel_head_losses.py [--losses bce,asl,db] [--lr 0.05] [--epochs 12]
        [--hidden 512]

A plain torch loop (AdamW, batch 256, constant learning rate, seed 0) over the cached
all-MiniLM-L6-v2 embeddings of the training comments (``multilabel_sklearn.embeddings``: mean
pooling, max length 64, L2-normalized), one linear layer (``--hidden N``: an MLP with one ReLU
layer of N units and dropout 0.1, as the embedding head's ``head: mlp``), loss from
``tailtune.objectives.multilabel.build_set_loss`` (bce; asl: Ridnik et al. 2021; db: Wu et al.
2020). Printed every 4 epochs: dev macro F1 with per-label thresholds tuned on dev (shrink 10),
an optimistic figure used only to compare the losses; test is never read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    import multilabel_sklearn as ml
    import torch

    from tailtune.evaluation.set_metrics import set_metrics
    from tailtune.objectives.multilabel import build_set_loss
    from tailtune.objectives.thresholds import tune_set_rule

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--losses", default="bce,asl,db")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=0, help="0: linear; N: one hidden layer")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    splits, labels = ml.load_goemotions(ml.data_root())
    (tr, y_tr), (dv, y_dv) = splits["train"], splits["dev"]
    x_tr, x_dv = (torch.tensor(ml.embeddings(t, "minilm")) for t in (tr, dv))
    t_tr = torch.tensor(y_tr, dtype=torch.float32)
    for kind in args.losses.split(","):
        loss_fn = build_set_loss(kind, label_counts=y_tr.sum(0).astype(int).tolist(),
                                 n_texts=len(y_tr))  # fmt: skip
        torch.manual_seed(0)
        head = torch.nn.Linear(x_tr.shape[1], len(labels))
        if args.hidden:
            head = torch.nn.Sequential(torch.nn.Linear(x_tr.shape[1], args.hidden), torch.nn.ReLU(),
                                       torch.nn.Dropout(0.1), torch.nn.Linear(args.hidden, len(labels)))  # fmt: skip
        opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
        start = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            for idx in torch.randperm(len(x_tr)).split(256):
                loss = loss_fn(head(x_tr[idx]), t_tr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if epoch % 4 == 0 or epoch == 1:
                head.eval()
                with torch.no_grad():
                    p = torch.sigmoid(head(x_dv)).numpy()
                head.train()
                f1 = set_metrics(y_dv, tune_set_rule(p, y_dv, labels).apply(p), labels)["macro_f1"]
                print(f"{kind} hidden {args.hidden} lr {args.lr:g} epoch {epoch}: dev macro F1 {f1:.4f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())

"""Run by test_distributed under torchrun: a 2-process fit of the bag model; rank 0 writes JSON."""

import functools
import json
import sys

from tailtune.objectives.losses import build_loss
from tailtune.training import TrainSettings, fit_classifier, pad_collate
from tests.training.tiny_models import bag_model, toy_items

out = sys.argv[1]
train, tok = toy_items(160, 0)
val, _ = toy_items(80, 1)
seen = []


def loss_fn(logits, targets):
    if logits.requires_grad:
        seen.extend(targets.tolist())
    return build_loss("ce")(logits, targets)


model = bag_model(len(tok), 4)
settings = TrainSettings(
    lr=0.05,
    epochs=3,
    batch_size=8,
    progress=False,
    patience=None,
    seed=3,
    device="cpu",
    num_threads=1,
)
result = fit_classifier(
    model,
    train,
    collate=functools.partial(pad_collate, pad_id=0),
    loss_fn=loss_fn,
    num_classes=4,
    settings=settings,
    eval_items=val,
    work_dir=out + "/work",
)
import torch.distributed as dist  # noqa: E402

rank = dist.get_rank() if dist.is_initialized() else 0
with open(f"{out}/rank{rank}.json", "w") as fh:
    json.dump(
        {
            "history": result.history,
            "info": result.info,
            "seen": len(seen),
            "weight_sum": float(sum(p.sum() for p in model.parameters())),
        },
        fh,
    )

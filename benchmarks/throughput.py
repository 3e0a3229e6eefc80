"""Training throughput: the tailtune loop vs pad-to-128 reference vs a bare PyTorch loop.

    python benchmarks/throughput.py                      # MiniLM on Banking77, 40 steps each
    python benchmarks/throughput.py --steps 60 --threads 2 --batch-size 32

All three train the same model (the offline all-MiniLM-L6-v2 with a fresh 77-way head) with
AdamW at batch 32 and report real (non-pad) training tokens per second:

- ``padded reference``: random batches padded to max length 128, the default of transformers'
  text-classification example (``run_glue.py``: ``--max_seq_length 128``, ``pad_to_max_length``);
- ``bare``: forward/backward/step over exactly the batches the tailtune loop uses
  (length-grouped, dynamically padded), with no Accelerate, no guards, no bookkeeping;
- ``tailtune``: :func:`tailtune.training.fit_classifier` with ``max_steps`` and no evaluation.

Targets: tailtune ≥ 3× the padded reference on short text; ≤ 10% overhead over bare.
One untimed step runs first so that lazy initialization favours none of them; the tailtune
figure comes from the loop's own step timer (``info_["tokens_per_s"]``), which excludes setup.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from pathlib import Path

import numpy as np

DATA = Path(
    os.environ.get("TAILTUNE_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data")
)


def main() -> None:
    """Parse arguments, run the three loops, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    texts, labels, k = load_banking77()
    tok, make_model = model_factory(args.model, k)
    ids = tok(texts, truncation=True, max_length=args.max_length)["input_ids"]
    lengths = np.array([len(x) for x in ids])
    print(
        f"Banking77: {len(texts)} texts, {k} classes, tokens per text: mean "
        f"{lengths.mean():.1f}, p95 {np.percentile(lengths, 95):.0f}, max {lengths.max()}"
    )
    print(
        f"model {args.model}, batch {args.batch_size}, {args.steps} steps each, "
        f"torch threads {torch.get_num_threads()}"
    )

    warm_up(make_model, ids, labels, args)
    results = {}
    results["padded reference (pad to 128)"] = padded_reference(make_model, ids, labels, tok, args)
    # bare and tailtune alternate, median of --repeats rounds: on a shared machine the load
    # changes within minutes, and back-to-back rounds see the same conditions
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(make_model, ids, labels, tok, args))
        ours.append(tailtune_loop(make_model, ids, labels, tok, args))
    results["bare PyTorch (same batches)"] = _median(bare)
    results["tailtune fit_classifier"] = _median(ours)
    print(
        "per round tokens/s, bare:",
        [round(r[0]) for r in bare],
        "tailtune:",
        [round(r[0]) for r in ours],
    )
    print(f"\n{'loop':34s} {'tokens/s':>10s} {'examples/s':>11s} {'s/step':>8s}")
    for name, (tps, eps, sps) in results.items():
        print(f"{name:34s} {tps:10.0f} {eps:11.1f} {sps:8.3f}")
    ours = results["tailtune fit_classifier"][0]
    ref = results["padded reference (pad to 128)"][0]
    bare = results["bare PyTorch (same batches)"][0]
    print(f"\ntailtune / padded reference: {ours / ref:.2f}x (target >= 3x)")
    print(f"overhead over bare loop:     {100 * (1 - ours / bare):.1f}% (target <= 10%)")


def _median(rounds):
    """Per-column median of (tokens/s, examples/s, s/step) tuples."""
    return tuple(float(np.median([r[i] for r in rounds])) for i in range(3))


def load_banking77():
    """Texts, integer labels and class count of Banking77's training file."""
    import pandas as pd

    df = pd.read_csv(DATA / "banking77" / "train.csv")
    classes = sorted(df["category"].unique())
    y = df["category"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return df["text"].astype(str).tolist(), y, len(classes)


def model_factory(name: str, k: int):
    """The tokenizer and a function returning the same freshly initialized classifier each call."""
    import torch
    import transformers

    from tailtune.backends._hf import load_tokenizer, quiet_transformers, resolve_model_name

    quiet_transformers()
    path = resolve_model_name(name)
    torch.manual_seed(0)
    base = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=k, dtype=torch.float32
    )
    state = {n: t.clone() for n, t in base.state_dict().items()}

    def make():
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=k, dtype=torch.float32
        )
        model.load_state_dict(state)
        return model.train()

    return load_tokenizer(name), make


def warm_up(make_model, ids, labels, args):
    """One untimed step, so that lazy initialization favours none of the three loops."""
    import torch

    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    batch, _, y = _same_batches(ids, labels, args)[0]
    _step(model, opt, batch, y)


def _step(model, opt, batch, labels):
    """One plain forward/backward/AdamW step."""
    import torch

    out = model(**batch).logits
    loss = torch.nn.functional.cross_entropy(out, labels)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def _timed(model, batches):
    """Run ``(tensors, real_tokens, labels)`` batches; return tokens/s, examples/s, s/step."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    start = time.perf_counter()
    for batch, _, y in batches:
        _step(model, opt, batch, y)
    elapsed = time.perf_counter() - start
    tokens = sum(t for _, t, _ in batches)
    examples = sum(len(y) for _, _, y in batches)
    return tokens / elapsed, examples / elapsed, elapsed / len(batches)


def padded_reference(make_model, ids, labels, tok, args):
    """Random batches, every one padded to 128 tokens."""
    import torch

    order = np.random.default_rng(0).permutation(len(ids))
    batches = []
    for s in range(args.steps):
        rows = order[s * args.batch_size : (s + 1) * args.batch_size]
        enc = tok.pad(
            {"input_ids": [ids[i] for i in rows]},
            padding="max_length",
            max_length=128,
            return_tensors="pt",
        )
        tensors = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        real = sum(len(ids[i]) for i in rows)
        batches.append((tensors, real, torch.as_tensor(labels[rows])))
    return _timed(make_model(), batches)


def _same_batches(ids, labels, args):
    """The tailtune loop's first batches of epoch 0 (length-grouped, seed 0)."""
    from tailtune.training import epoch_batches, pad_collate

    groups = epoch_batches([len(x) for x in ids], batch_size=args.batch_size, seed=0, epoch=0)
    out = []
    for rows in groups[: args.steps]:
        b = pad_collate([{"input_ids": ids[i], "labels": int(labels[i])} for i in rows], pad_id=0)
        y = b.pop("labels")
        out.append((b, int(b["attention_mask"].sum()), y))
    return out


def bare_loop(make_model, ids, labels, tok, args):
    """Plain PyTorch over exactly the tailtune loop's batches."""
    return _timed(make_model(), _same_batches(ids, labels, args))


def tailtune_loop(make_model, ids, labels, tok, args):
    """fit_classifier with max_steps and no evaluation; time from its own step timer."""
    from tailtune.objectives.losses import build_loss
    from tailtune.training import TrainSettings, fit_classifier, pad_collate

    items = [{"input_ids": x, "labels": int(y)} for x, y in zip(ids, labels, strict=True)]
    settings = TrainSettings(
        max_steps=args.steps,
        batch_size=args.batch_size,
        lr=2e-5,
        seed=0,
        grad_clip=None,
        progress=False,
        patience=None,
        num_threads=args.threads,
    )
    result = fit_classifier(
        make_model(),
        items,
        collate=functools.partial(pad_collate, pad_id=0),
        loss_fn=build_loss("ce"),
        num_classes=int(labels.max()) + 1,
        settings=settings,
    )
    info = result.info
    return info["tokens_per_s"], info["examples_per_s"], info["time_per_step_s"]


if __name__ == "__main__":
    main()

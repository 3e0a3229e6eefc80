"""``--format onnx``: ``model.onnx`` + ``tokenizer.json`` for ONNX Runtime, optionally int8.

The traced graph is the whole prediction: the transformer (a decoder LoRA run merged first, the
head included), for embedding-head runs the pooling, normalization and head, then the softmax
temperature and the post-hoc logit adjustment ``- τ log π`` (Menon et al. 2021) as a constant
added to the logits, so any head, with or without a bias, exports with it. ``torch.onnx.export``
(TorchScript tracing) with dynamic batch and sequence axes; ``--quantize int8`` is ONNX Runtime's
dynamic quantization (int8 weights per output channel, activations quantized per batch at
run time).

A run on label sets exports the same graph with a sigmoid per label for ``probabilities`` and a
third output, ``labels`` (int64 0/1, texts × labels): the run's decision rule — each label's
tuned threshold, the top-k cap, at-least-one — as graph operations, so the thresholds travel
inside ``model.onnx`` (and in ``export.json``'s ``onnx.set_rule``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tailtune._extras import require
from tailtune.errors import TailtuneError
from tailtune.export._adjust import logit_offset
from tailtune.export._agree import agreement
from tailtune.export._source import Source, posthoc, reference_proba
from tailtune.export._transformers import plain_classifier

__all__ = ["export_onnx", "OPSET"]

OPSET = 17
FP32_ATOL = 1e-4
INT8_TOP1 = 0.995


def export_onnx(
    source: Source, folder: Path, quantize: str | None = None
) -> tuple[dict, np.ndarray]:
    """Trace the run's model into ``folder/model.onnx`` (int8 if asked).

    Returns the report's format part and PyTorch's probabilities on the validation texts
    (computed before any merge), for :func:`check_agreement` once ``export.json`` is written.
    """
    require("onnx", "ONNX export")
    require("onnxruntime", "ONNX export")
    reason = source.backend.export_refusal("onnx")
    if reason is not None:
        raise TailtuneError(f"onnx: {reason}")
    tau, temperature, prior = posthoc(source.backend)
    if tau and prior is None:
        raise TailtuneError("onnx: the run saved no class priors to apply posthoc_tau with")
    offset = logit_offset(prior, tau) if tau else np.zeros(len(source.classes))
    reference = reference_proba(source)
    rule = getattr(source.backend, "rule_", None)  # label sets: the saved thresholds
    if source.backend.export_forms["onnx"] == "pooled_head":
        net, tok, max_length = _embedding_graph(source, offset, temperature, rule)
    else:
        model, tok = plain_classifier(source)
        net, max_length = _Adjusted.wrap(model, offset, temperature, rule), source.max_length or 512
    fp32 = folder / ("model.fp32.onnx" if quantize else "model.onnx")
    outputs = ["logits", "probabilities"] + (["labels"] if rule is not None else [])
    _trace(net, tok, source, fp32, max_length, outputs)
    tok.save_pretrained(folder)
    if not (folder / "tokenizer.json").is_file():
        raise TailtuneError("onnx: the tokenizer has no fast (tokenizer.json) form to ship")
    final = fp32
    if quantize == "int8":
        final = folder / "model.onnx"
        _quantize_int8(fp32, final)
        fp32.unlink()
    part = {
        "file": final.name,
        "opset": OPSET,
        "quantize": quantize,
        "max_length": int(max_length),
        "pad_token_id": int(tok.pad_token_id),
        "posthoc_tau": tau,
        "temperature": temperature,
        "inputs": ["input_ids", "attention_mask"],
        "outputs": outputs,
        "size_mb": round(final.stat().st_size / 2**20, 2),
    }
    if rule is not None:
        part["set_rule"] = rule.to_dict()
    return part, reference


def check_agreement(folder: Path, reference: np.ndarray, texts: list[str], quantize) -> dict:
    """Top-1 agreement and largest probability gap of ONNX Runtime against PyTorch; for label
    sets also the share of texts whose set (the graph's ``labels`` output) is tailtune's."""
    from tailtune.export.runtime import OnnxClassifier

    runtime = OnnxClassifier(folder)
    got = runtime.predict_proba(texts)
    rule, sets = runtime.rule, None
    if rule is not None:
        sets = runtime.indicator(texts) if texts else np.zeros((0, len(runtime.classes_)))
    out = agreement(reference, got, "tailtune predict (PyTorch)", atol=FP32_ATOL, rule=rule,
                    got_sets=sets)  # fmt: skip
    if quantize == "int8":  # int8 moves probabilities; the figure that matters is the decision
        key = "label_set_agreement" if rule is not None else "top1_agreement"
        out["tolerance"] = None
        out["target_top1" if rule is None else "target_label_sets"] = INT8_TOP1
        out["within_tolerance"] = bool(out["n"] and out[key] >= INT8_TOP1)
    return out


def _trace(net, tok, source: Source, path: Path, max_length: int, outputs: list[str]) -> None:
    """``torch.onnx.export`` with dynamic (batch, sequence) axes on two texts of unequal length."""
    torch = require("torch")
    probe = (source.val_texts + ["a short probe", "a somewhat longer probe text for tracing"])[:2]
    enc = tok(probe, truncation=True, max_length=max_length, padding=True)
    ids = torch.as_tensor(enc["input_ids"], dtype=torch.long)
    mask = torch.as_tensor(enc["attention_mask"], dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    axes |= {name: {0: "batch"} for name in outputs}
    net.eval()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            net,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
    net.eval()  # export restores the module's previous mode: keep dropout off either way


def _quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization of the MatMul/Gemm weights (ONNX Runtime), one scale per
    output channel: with one scale per tensor the MiniLM ATIS export kept 99.2% of top-1
    decisions on the 893 test texts, per channel 99.9%."""
    import logging

    q = require("onnxruntime.quantization", "int8 quantization")
    # ONNX Runtime logs a hint about shape pre-processing on the root logger: not for users
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q.quantize_dynamic(str(src), str(dst), weight_type=q.QuantType.QInt8, per_channel=True)


def _embedding_graph(source: Source, offset: np.ndarray, temperature: float, rule=None):
    """Encoder + pooling (+ normalization) + head as one module, and the encoder's tokenizer."""
    backend = source.backend
    head = backend.embedding  # HeadSettings: pooling, normalize
    tok, encoder = backend._load_encoder()  # the frozen encoder the run embedded with
    encoder.to("cpu").eval()
    backend.head_.to("cpu").eval()
    net = _EmbeddingHead.build(
        encoder, backend.head_, head.pooling, bool(head.normalize), offset, temperature, rule
    )
    return net, tok, int(source.max_length or 128)


def _outputs(torch, z, rule):
    """``(logits, probabilities)``, a softmax; label sets: ``(logits, sigmoids, labels)`` with
    ``labels`` what :meth:`tailtune.objectives.thresholds.SetRule.apply` decides (per-label
    thresholds, then the top-k cap by margin, then at-least-one by margin)."""
    if rule is None:
        return z, torch.softmax(z, dim=-1)
    p = torch.sigmoid(z)
    margin = p - torch.as_tensor(rule.thresholds, dtype=torch.float32)
    chosen = margin >= 0
    k = z.shape[-1]
    if rule.top_k is not None and rule.top_k < k:
        top = margin.topk(int(rule.top_k), dim=1).indices
        chosen = chosen & torch.zeros_like(chosen).scatter(1, top, True)
    if rule.at_least_one:
        best = torch.nn.functional.one_hot(margin.argmax(dim=1), k).bool()
        chosen = chosen | (best & ~chosen.any(dim=1, keepdim=True))
    return z, p, chosen.to(torch.int64)


class _Adjusted:
    """``logits / T + offset`` and their softmax (label sets: sigmoids and the decided labels)
    on top of a transformers classifier."""

    @staticmethod
    def wrap(model, offset: np.ndarray, temperature: float, rule=None):
        torch = require("torch")

        class Adjusted(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model
                self.temperature = float(temperature)
                self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32))

            def forward(self, input_ids, attention_mask):
                z = self.model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
                z = z / self.temperature + self.offset
                return _outputs(torch, z, rule)

        return Adjusted()


class _EmbeddingHead:
    """The embedding-head prediction path (``embed_texts`` + head) as one traceable module."""

    @staticmethod
    def build(encoder, head, pooling: str, normalize: bool, offset, temperature: float, rule=None):
        torch = require("torch")

        class EmbeddingHead(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder, self.head = encoder, head
                self.temperature = float(temperature)
                self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32))

            def forward(self, input_ids, attention_mask):
                out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
                hidden = out.last_hidden_state.float()
                if pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    m = attention_mask.unsqueeze(-1).float()
                    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                if normalize:
                    pooled = pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)
                z = self.head(pooled).float() / self.temperature + self.offset
                return _outputs(torch, z, rule)

        return EmbeddingHead()

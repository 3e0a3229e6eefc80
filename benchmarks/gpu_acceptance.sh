#!/usr/bin/env bash
# The GPU acceptance run in one command (benchmarks/GPU.md):
#   bash benchmarks/gpu_acceptance.sh OUTDIR [BITSANDBYTES_WHEEL]
# Runs tailtune from the working tree (PYTHONPATH=src): the GPU machine has torch, transformers,
# peft and accelerate but not tailtune's pins, and no network. What it lacks is installed offline:
# bitsandbytes from the wheel given or found under wheels/ (--no-deps), pandas from wheels/ if
# carried there. A package that stays missing fails its phase, recorded in the JSON.
cd "$(dirname "$0")/.." || exit 1
whl="${2:-$(ls wheels/bitsandbytes-*.whl 2>/dev/null | head -n 1)}"
python -c "import bitsandbytes" 2>/dev/null || { [ -n "$whl" ] && pip install -q --no-index --no-deps "$whl"; }
python -c "import pandas" 2>/dev/null || pip install -q --no-index --find-links wheels pandas
PYTHONPATH=src python benchmarks/gpu_acceptance.py "${1:-gpu_out}"

"""Two CPU processes (gloo) through torchrun: each trains on its half; weights stay in sync."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("accelerate")

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.integration
def test_torchrun_two_cpu_processes(tmp_path):
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not on PATH")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}", "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29517",
        str(ROOT / "tests/training/ddp_script.py"),
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0["info"]["processes"] == 2
    # each rank draws its half of every epoch: 80 examples x 3 epochs
    assert r0["seen"] == r1["seen"] == 240
    assert r0["info"]["examples_seen"] == 480
    # 80 per rank / batch 8 = 10 steps per epoch
    assert [h["step"] for h in r0["history"]] == [10, 20, 30]
    assert r0["weight_sum"] == pytest.approx(r1["weight_sum"], abs=1e-6)  # DDP kept them equal
    assert r0["history"] == r1["history"] or [h["macro_f1"] for h in r0["history"]] == [
        h["macro_f1"] for h in r1["history"]
    ]
    assert r0["history"][-1]["macro_f1"] > 0.5
    lines = (tmp_path / "work" / "history.jsonl").read_text().splitlines()
    assert len(lines) == 3

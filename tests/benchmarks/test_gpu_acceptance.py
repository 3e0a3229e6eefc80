"""benchmarks/gpu_acceptance.py --smoke: the GPU acceptance script rehearsed on the CPU.

The script runs once on a GPU, in one go; this runs it with tiny configs in a subprocess (as the
GPU machine will) so that a typo or an API drift in any CPU-reachable path fails here first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("tokenizers")

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_acceptance.py"
PHASES = ["data", "encoder", "encoder_profile", "encoder_gc", "decoder_lora", "decoder_qlora"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Run the script once with --smoke; return (json, log text, process, output folder)."""
    out = tmp_path_factory.mktemp("gpu_smoke")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",  # the smoke run is the CPU path even on a GPU machine
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    path = out / "gpu_acceptance.json"
    assert path.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(path.read_text(encoding="utf-8"))
    return results, (out / "log.txt").read_text(encoding="utf-8"), proc, out


def test_every_phase_ran_or_says_why(smoke):
    results, log, proc, _ = smoke
    errors = {k: v["error"] for k, v in results["phases"].items() if "error" in v}
    assert errors == {}, errors
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(results["phases"]) == PHASES
    assert results["summary"]["failed_phases"] == []
    assert "no CUDA device" in results["phases"]["decoder_qlora"]["skipped"]
    assert results["summary"]["skipped_phases"] == ["decoder_qlora"]
    assert "summary:" in log and "decoder_lora: done" in log
    env = results["environment"]
    assert env["smoke"] is True and env["peak_flops_used"] == 989e12


def test_data_is_the_113_class_preset_scaled(smoke):
    from tailtune.data.synth import preset_sizes

    data = smoke[0]["phases"]["data"]
    assert data["classes"] == 113
    assert data["train"] + data["val"] == sum(preset_sizes("cfpb113", 0.006))
    assert data["val"] == 39
    enc = data["encoder_model"]
    assert enc["layer_types"][0].startswith("full") and enc["layer_types"][1].startswith("slid")


@pytest.mark.parametrize("name", ["encoder", "encoder_gc"])
def test_encoder_figures_are_sane(smoke, name):
    enc = smoke[0]["phases"][name]
    assert enc["gradient_checkpointing"] is (name == "encoder_gc")
    assert enc["examples_per_s"] > 0 and enc["tokens_per_s_real"] > 0
    # padded tokens include every real one; the counts are of exactly the loop's batches
    assert enc["tokens_per_s_padded"] >= enc["tokens_per_s_real"]
    assert enc["batches_match_loop"] is True
    assert 0 <= enc["padding_share"] < 1
    assert 2 <= enc["steps"] <= enc["steps_per_epoch"]
    assert enc["capped_by_time_budget"] is (enc["steps"] < enc["steps_per_epoch"])
    assert 0 < enc["mfu"] < 1 and enc["mfu_non_embedding"] < enc["mfu"]
    assert enc["precision"] == "no" and enc["device"] == "cpu"
    assert enc["attn_implementation"] == "sdpa"
    assert enc["val_macro_f1"] is not None
    assert enc["estimated_epoch_s"] > 0


def test_encoder_profile_wrote_its_table(smoke):
    prof = smoke[0]["phases"]["encoder_profile"]
    table = (smoke[3] / prof["profile_table"]).read_text(encoding="utf-8")
    assert "aten::" in table and "bare steps" in table
    assert prof["bare_loop_batches"]["tokens_per_s_real"] > 0
    assert prof["bare_fixed_full_length"]["mfu"] > 0
    assert prof["collate_ms_per_batch"] > 0


def test_decoder_lora_save_load_and_padding(smoke):
    dec = smoke[0]["phases"]["decoder_lora"]
    assert dec["steps"] == 4 and dec["tokens_per_s"] > 0
    assert dec["lora_targets"] == ["k_proj", "o_proj", "q_proj", "v_proj"]
    assert dec["modules_to_save"] == ["score"]
    assert 0 < dec["trainable_params"] < dec["total_params"]
    assert dec["save_load"]["decision_function_error"] is None
    assert dec["save_load"]["identical"] is True
    assert dec["save_load"]["max_abs_diff_decision_function"] == 0.0
    pad = dec["padding"]
    assert pad["rows_padded"] > 0  # the comparison is not vacuous: rows really get padded
    assert pad["finite"] and pad["agree"] is True
    assert pad["max_abs_diff_left_vs_right"] < 1e-4
    assert smoke[0]["summary"]["save_load_identical"] == {"lora": True}
    assert smoke[0]["summary"]["padding_agree"] == {"lora": True}


def test_full_run_refuses_without_cuda(tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the full run would start")
    spec = importlib.util.spec_from_file_location("gpu_acceptance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_acceptance", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path)]) == 1
    assert "needs a GPU" in (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert not (tmp_path / "gpu_acceptance.json").exists()

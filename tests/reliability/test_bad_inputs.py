"""Bad inputs a new user tries, one class per test: one ``error:`` line, exit 1, nothing made.

Config values that are not finite or out of range, runs folders that cannot take a run, query
fields that do not exist, experiment options, calculator inputs, damaged model files under
every command that loads a model, and the export folder's output policy.
"""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest

from tests.reliability.conftest import cli, one_line, write_csv

pytestmark = pytest.mark.integration


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the config's runs_dir is relative to the working folder
    write_csv(tmp_path / "d.csv")
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  path: d.csv\nmodel:\n  backend: tfidf\nruns_dir: runs\n")
    return path


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.lr=nan", "train.lr: got 'nan', expected a finite number"),
        ("train.lr=.inf", "train.lr: got inf, expected a finite number"),
        ("model.tfidf.C=inf", "model.tfidf.C: got 'inf', expected a finite number"),
        ("seed=-5", "seed: got -5, expected an integer from 0 to 4294967295"),
        ("seed=4294967296", "seed: got 4294967296, expected an integer from 0"),
        ("split.seed=-1", "split.seed: got -1, expected an integer from 0"),
    ],
)
def test_config_values_out_of_range(monkeypatch, capsys, config, override, expected):
    code, out, err = cli(monkeypatch, capsys, "train", config, "--set", override)
    one_line(code, out, err, expected)
    assert not (config.parent / "runs").exists()


def test_binary_yaml(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(bytes(range(256)) * 4)
    for command in (["train"], ["experiment", "run"]):
        code, out, err = cli(monkeypatch, capsys, *command, bad)
        one_line(code, out, err, "bin.yaml: not UTF-8 text")


def test_runs_dir_that_is_a_file(monkeypatch, capsys, config):
    (config.parent / "afile").write_text("x")
    code, out, err = cli(monkeypatch, capsys, "train", config, "--set", "runs_dir=afile")
    one_line(code, out, err, "runs_dir afile: is a file, not a folder")
    assert (config.parent / "afile").read_text() == "x"


def test_read_only_runs_dir_fails_before_training(monkeypatch, capsys, config, read_only):
    ro = config.parent / "ro"
    ro.mkdir()
    read_only(ro)
    code, out, err = cli(monkeypatch, capsys, "train", config, "--set", f"runs_dir={ro}")
    line = one_line(code, out, err, f"runs_dir {ro}: runs cannot be written there")
    assert "--set runs_dir=" in line
    assert "training" not in out  # nothing was read or trained first
    assert list(ro.iterdir()) == []


def test_experiment_runs_dir_checked_up_front(monkeypatch, capsys, tmp_path, read_only):
    exp = tmp_path / "e.yaml"
    exp.write_text(
        "name: e\nbase:\n  data: {synthetic: tiny}\n  model: {backend: tfidf}\n"
        "vary:\n  model.tfidf.C: [1.0, 0.1]\nseeds: [1]\n"
        "prediction: C 0.1 underfits\n"
    )
    (tmp_path / "ro").mkdir()
    ro = read_only(tmp_path / "ro")
    code, out, err = cli(monkeypatch, capsys, "experiment", "run", exp, "--runs-dir", ro)
    one_line(code, out, err, f"--runs-dir {ro}: runs cannot be written there")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--executor", "zzz"], "--executor zzz: expected one of sequential, processes, ray"),
        (["--executor", "proceses"], "(did you mean 'processes'?)"),
        (["--workers", "-1"], "--workers -1: expected a value >= 1"),
        (["--workers", "0"], "--workers 0: expected a value >= 1"),
    ],
)
def test_experiment_options(monkeypatch, capsys, tmp_path, args, expected):
    exp = tmp_path / "e.yaml"
    exp.write_text(
        "base:\n  data: {synthetic: tiny}\nvary:\n  model.tfidf.C: [1.0, 0.1]\nprediction: p\n"
    )
    code, out, err = cli(monkeypatch, capsys, "experiment", "run", exp, *args,
                         "--runs-dir", tmp_path / "runs")  # fmt: skip
    one_line(code, out, err, expected)
    assert not (tmp_path / "runs").exists()


def test_experiment_negative_seed(monkeypatch, capsys, tmp_path):
    exp = tmp_path / "e.yaml"
    exp.write_text(
        "base:\n  data: {synthetic: tiny}\nvary:\n  model.tfidf.C: [1.0]\nseeds: [-1]\n"
        "prediction: p\n"
    )
    code, out, err = cli(monkeypatch, capsys, "experiment", "run", exp, "--runs-dir",
                         tmp_path / "runs")  # fmt: skip
    one_line(code, out, err, "seeds[0]: got -1, expected an integer from 0")
    assert not (tmp_path / "runs").exists()


def test_predict_set_without_input_is_refused(monkeypatch, capsys, tfidf_run):
    code, out, err = cli(monkeypatch, capsys, "predict", tfidf_run, "--text", "hi",
                         "--set", "train.zzz=1")  # fmt: skip
    one_line(code, out, err, "--set train.zzz=1: applies to reading --input")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--where", "nope.field>3"], "--where nope.field: not a column of the index"),
        (["--sort", "nope"], "--sort nope: not a column"),
        (["--column", "zz.yy"], "--column zz.yy: not a column"),
        (["--sort", "macro_f"], "did you mean 'macro_f1'?"),
        (["--column", "train.lrr"], "did you mean 'train.lr'?"),
    ],
)
def test_runs_list_unknown_fields(monkeypatch, capsys, tfidf_run, args, expected):
    code, out, err = cli(monkeypatch, capsys, "runs", "list", tfidf_run.parent, *args)
    one_line(code, out, err, expected)


def test_runs_list_known_fields_still_work(monkeypatch, capsys, tfidf_run):
    code, out, err = cli(monkeypatch, capsys, "runs", "list", tfidf_run.parent, "--json",
                         "--where", "seed>3", "--sort", "train.lr", "--column", "model.tfidf.C",
                         "--column", "objective")  # fmt: skip
    assert code in (0, None), err
    (row,) = json.loads(out)
    assert row["model.tfidf.C"] == 0.5 and row["objective"]["class_weights"] == "none"


def test_runs_compare_needs_two(monkeypatch, capsys, tfidf_run):
    code, out, err = cli(monkeypatch, capsys, "runs", "compare", tfidf_run.name,
                         "--runs-dir", tfidf_run.parent)  # fmt: skip
    one_line(code, out, err, "runs compare: got 1 run(s), expected two or more")


@pytest.mark.parametrize("epochs", ["nan", "inf", "-inf", "0"])
def test_calc_steps_epochs(monkeypatch, capsys, epochs):
    code, out, err = cli(monkeypatch, capsys, "calc", "steps", "--samples", "100", "--batch", "8",
                         "--epochs", epochs)  # fmt: skip
    one_line(code, out, err, "epochs must be a positive finite number")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"bad', "not a JSON file"),
        (b"\xff\xfe\x00", "not a JSON file"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"model_type": "bert", "hidden_size": "x", "num_attention_heads": 3}', ""),
    ],
)
def test_calc_lora_bad_config_json(monkeypatch, capsys, tmp_path, content, expected):
    pytest.importorskip("transformers")
    (tmp_path / "config.json").write_bytes(content)
    code, out, err = cli(monkeypatch, capsys, "calc", "lora", "--model", tmp_path / "config.json")
    one_line(code, out, err, "config.json", expected)


@pytest.mark.parametrize("head", [b"", b"GGUF\x03\x00\x00\x00"])
def test_calc_lora_fake_gguf(monkeypatch, capsys, tmp_path, head):
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    fake = tmp_path / "m.gguf"
    fake.write_bytes(head + bytes(range(200)))
    code, out, err = cli(monkeypatch, capsys, "calc", "lora", "--model", fake)
    one_line(code, out, err, "m.gguf: not a GGUF model transformers can read")


def _object_arrays(model):
    np.savez(model / "arrays.npz", coef=np.array([{"a": 1}], dtype=object))


def _truncated_arrays(model):
    data = (model / "arrays.npz").read_bytes()
    (model / "arrays.npz").write_bytes(data[: len(data) // 2])


def _pickled_arrays(model):
    (model / "arrays.npz").write_bytes(pickle.dumps({"a": 1}))


@pytest.mark.parametrize("damage", [_object_arrays, _truncated_arrays, _pickled_arrays])
@pytest.mark.parametrize(
    "command",
    [
        ["predict", "{run}", "--text", "hi"],
        ["evaluate", "{run}", "--split", "val"],
        ["export", "{run}", "-f", "sklearn", "-o", "{tmp}/exp"],
    ],
)
def test_damaged_model_files(monkeypatch, capsys, tmp_path, tfidf_run, damage, command):
    run = shutil.copytree(tfidf_run, tmp_path / tfidf_run.name)
    damage(run / "model")
    args = [a.format(run=run, tmp=tmp_path) for a in command]
    code, out, err = cli(monkeypatch, capsys, *args)
    one_line(code, out, err, f"{run / 'model'}: the saved tfidf model cannot be read")
    assert not (tmp_path / "exp").exists()


class Planted:
    """An object a weights file must never bring back to life."""


def test_damaged_safetensors_and_pickled_weights(tmp_path):
    """The library-level errors of the neural formats become the same one line."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from tailtune.backends import load_backend
    from tailtune.errors import DataError

    model = tmp_path / "model"
    model.mkdir()
    (model / "backend.json").write_text('{"backend": "embedding_head", "params": {}}')
    state = {"classes": ["a", "b"], "prior": [0.5, 0.5], "info": {}, "history": [], "dim": 4}
    (model / "state.json").write_text(json.dumps(state))
    (model / "head.safetensors").write_bytes(b"\xff" * 8 + b"{not json")
    with pytest.raises(DataError, match=r"model: the saved embedding_head model cannot be read"):
        load_backend(model)

    (model / "head.safetensors").unlink()
    torch.save({"w": Planted()}, model / "head.pt")
    with pytest.raises(DataError, match="head.pt: not a plain tensor file, refused") as info:
        load_backend(model)
    assert "\n" not in str(info.value) and "weights_only" not in str(info.value)


def test_export_output_policy(monkeypatch, capsys, tmp_path, tfidf_run):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, o, e = cli(monkeypatch, capsys, "export", tfidf_run, "-f", "sklearn", "-o", out)
    one_line(code, o, e, f"-o {out}: already exists and is not empty; add --force")
    assert (out / "keep.txt").read_text() == "mine"
    code, o, e = cli(monkeypatch, capsys, "export", tfidf_run, "-f", "sklearn", "-o", out,
                     "--force")  # fmt: skip
    assert code in (0, None), e
    assert not (out / "keep.txt").exists() and (out / "export.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["exp"]  # no staging folder left
    for inside in (tfidf_run, tfidf_run / "model"):
        code, o, e = cli(monkeypatch, capsys, "export", tfidf_run, "-f", "sklearn", "-o", inside,
                         "--force")  # fmt: skip
        one_line(code, o, e, "overlaps the run")
    assert (tfidf_run / "model" / "arrays.npz").is_file()


def test_export_to_read_only_or_file(monkeypatch, capsys, tmp_path, tfidf_run, read_only):
    (tmp_path / "afile").write_text("x")
    code, o, e = cli(monkeypatch, capsys, "export", tfidf_run, "-f", "sklearn", "-o",
                     tmp_path / "afile")  # fmt: skip
    one_line(code, o, e, "is a file; give a folder")
    ro = tmp_path / "ro"
    ro.mkdir()
    read_only(ro)
    code, o, e = cli(monkeypatch, capsys, "export", tfidf_run, "-f", "sklearn", "-o", ro / "x")
    one_line(code, o, e, f"-o {ro / 'x'}")

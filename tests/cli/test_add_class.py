"""`tailtune add-class`: a prototype run gains a class from example texts, into a new folder."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

CRYPTO = [
    "my bitcoin wallet was drained overnight",
    "the crypto exchange froze my coins",
    "I cannot withdraw my ethereum from the wallet",
]


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "tailtune", *map(str, args)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def _train(tmp_path, model: dict):
    from tailtune.config import config_from_dict
    from tailtune.workflow import train

    raw = {"data": {"synthetic": "tiny"}, "model": model, "runs_dir": str(tmp_path / "runs"),
           "eval": {"head_min": 60, "tail_max": 20}}  # fmt: skip
    return train(config_from_dict(raw), quiet=True)


def _digest(folder):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    pytest.importorskip("transformers")
    from tests.training.tiny_models import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert"), "bert")


def test_add_class_writes_a_new_run_that_predicts_it(tmp_path, tiny_bert_dir):
    from tailtune.workflow.apply import predict

    model = {"backend": "prototype", "name": str(tiny_bert_dir), "max_length": 32,
             "embedding": {"cache_dir": str(tmp_path / "cache")}}  # fmt: skip
    source = _train(tmp_path, model)
    before = _digest(source)
    texts = tmp_path / "crypto.txt"
    texts.write_text("\n".join(CRYPTO) + "\n")
    out = tmp_path / "runs" / "with-crypto"
    res = _run("add-class", source, "--label", "crypto wallet", "--texts", texts, "-o", out)
    assert res.returncode == 0, res.stderr
    assert f"wrote {out}" in res.stdout
    assert _digest(source) == before  # the source run is read, never changed

    labels = json.loads((out / "labels.json").read_text())
    assert labels["train_counts"]["crypto wallet"] == 3
    assert labels["classes"] == sorted(labels["classes"]) and len(labels["classes"]) == 9
    assert labels["tiers"]["crypto wallet"] == "tail"  # 3 < eval.tail_max = 20
    metrics = json.loads((out / "metrics.json").read_text())
    assert "val" not in metrics  # the source's scores do not describe the new model
    assert metrics["added_classes"][0]["label"] == "crypto wallet"
    assert metrics["source_run"] == str(source) and metrics["n_classes"] == 9
    assert (
        metrics["train_size"] == json.loads((source / "metrics.json").read_text())["train_size"] + 3
    )

    assert list(predict(out, CRYPTO)["pred"]) == ["crypto wallet"] * 3
    # elsewhere the old predictions hold: a text goes to the new class or to its old one
    val = _val_texts(source)
    old, new = predict(source, val)["pred"], predict(out, val)["pred"]
    kept = new != "crypto wallet"
    assert kept.sum() > 0 and (old[kept] == new[kept]).all()

    res = _run("runs", "list", tmp_path / "runs", "--json")
    assert res.returncode == 0 and "with-crypto" in res.stdout
    res = _run("add-class", source, "--label", "crypto wallet", "--texts", texts, "-o", out)
    assert res.returncode == 1 and res.stderr.strip().startswith("error: --out")
    assert "already exists" in res.stderr


def _val_texts(run) -> list[str]:
    import pandas as pd

    frame = pd.read_csv(run / "predictions.csv")
    return frame.loc[frame["split"] == "val", "text"].astype(str).tolist()


def test_a_backend_without_add_class_is_refused_in_one_line(tmp_path):
    source = _train(tmp_path, {"backend": "tfidf"})
    texts = tmp_path / "t.txt"
    texts.write_text("some text\n")
    res = _run("add-class", source, "--label", "x", "--texts", texts, "-o", tmp_path / "new")
    assert res.returncode == 1, res.stdout
    assert "a tfidf model cannot take a class without retraining" in res.stderr
    assert not (tmp_path / "new").exists()

"""The model card every export carries, and --push without a network."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from tailtune.evaluation.noise import bootstrap_ci
from tailtune.export import export_run
from tailtune.runs import read_run

pytestmark = pytest.mark.integration
hub = pytest.importorskip("huggingface_hub")


@pytest.fixture(scope="module")
def card_export(tfidf_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("card") / "sk"
    report = export_run(tfidf_run, "sklearn", out)
    return out, report


def test_the_card_is_hub_metadata_over_the_runs_own_figures(tfidf_run, card_export):
    out, report = card_export
    assert "README.md" in report["files"]
    run = read_run(tfidf_run)
    card = hub.ModelCard.load(out / "README.md")  # the Hub's own parser reads the metadata
    assert card.data.library_name == "sklearn" and card.data.pipeline_tag == "text-classification"
    assert {"tailtune", "long-tail", "tfidf"} <= set(card.data.tags)
    (f1, acc) = card.data.eval_results
    assert (f1.metric_type, f1.dataset_split) == ("f1", "validation")
    assert f1.metric_value == round(run.metrics["val"]["macro_f1"], 4)
    assert acc.metric_value == round(run.metrics["val"]["accuracy"], 4)
    # the body: macro F1 and each tier's mean F1 with the bootstrap interval of the run's predictions
    frame = run.split_predictions("val")
    ci = bootstrap_ci(frame["gold"], frame["pred"], tiers=run.labels["tiers"])
    text = card.text
    m = ci["macro_f1"]
    assert (
        f"| validation | macro F1 | {m['value']:.3f} | {m['low']:.3f} – {m['high']:.3f} |" in text
    )
    for tier, t in run.metrics["val"]["tiers"].items():
        if t["n_classes"]:
            c = ci["tiers"][tier]
            assert (
                f"| {t['mean_f1']:.3f} | {c['low']:.3f} – {c['high']:.3f} | {t['zero_f1']} |"
                in text
            )
    for label, count in run.labels["train_counts"].items():
        assert f"| {label} | {count} |" in text


def test_the_card_names_the_training_data_by_hash_and_its_zero_f1_classes(tfidf_run, card_export):
    out, _ = card_export
    text = (out / "README.md").read_text()
    run = read_run(tfidf_run)
    source = run.config["data"]["path"]
    digest = hashlib.sha256(open(source, "rb").read()).hexdigest()  # noqa: SIM115
    assert f"SHA-256 `{digest}`" in text
    assert f"`{run.data['fingerprint']['train_sha256']}`" in text
    zero = run.per_class[run.per_class["f1"] == 0]["label"].tolist()
    limits = text.split("## Known limits")[1]
    if zero:
        assert all(z in limits for z in zero) and f"{len(zero)} class" in limits
    else:
        assert "F1 = 0" not in limits
    assert "## Intended use" in text and "chosen on the validation split" in text


def test_push_without_a_network_is_one_line_and_the_export_stays(tfidf_run, tmp_path):
    out = tmp_path / "sk"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    res = subprocess.run(
        [sys.executable, "-m", "tailtune", "export", str(tfidf_run), "--format", "sklearn",
         "-o", str(out), "--push", "me/toy-tfidf"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert res.returncode == 1 and "Traceback" not in res.stderr
    err = res.stderr.strip()
    assert err.count("\n") == 0 and err.startswith("error: export --push me/toy-tfidf: ")
    assert "HF_HUB_OFFLINE is set" in err and f"hf upload me/toy-tfidf {out}" in err
    assert (out / "README.md").is_file() and (out / "pipeline.skops").is_file()


def test_an_unreachable_hub_is_named(monkeypatch):
    import socket

    from tailtune import _hub

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(_hub, "hub_endpoint", lambda: f"http://127.0.0.1:{port}")
    assert _hub.unreachable_reason() == f"http://127.0.0.1:{port} cannot be reached"

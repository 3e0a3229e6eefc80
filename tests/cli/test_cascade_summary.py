"""A cascade's four figures reach the console after `tailtune train` and the HTML report."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_train_summary_and_report_show_the_cascade_figures(tmp_path):
    runs = tmp_path / "runs"
    res = subprocess.run(
        [sys.executable, "-m", "tailtune", "train", "-q",
         "--set", "data.synthetic=tiny", "--set", "model.backend=cascade",
         "--set", "model.cascade.head_top_k=2",
         "--set", "model.cascade.specialist={backend: tfidf}", "--set", f"runs_dir={runs}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    info = json.loads((run / "metrics.json").read_text())["info"]
    out = " ".join(res.stdout.split())  # rich may fold a long line at the terminal width
    assert f"router macro F1 (2 head + OTHER): {info['router_macro_f1']:.3f}" in out
    assert f"(6 tail classes): {info['specialist_macro_f1']:.3f}" in out
    assert f"hard routing): {info['combined_macro_f1']:.3f}" in out
    lost = (
        f"routing lost {info['routing_lost']}: {info['tail_sent_to_head']} gold tail sent to a "
        f"head class, {info['head_sent_to_other']} gold head sent to OTHER"
    )
    assert lost in out
    assert info["routing_lost"] == info["tail_sent_to_head"] + info["head_sent_to_other"]
    # the val row's macro F1 is the argmax of the probabilities, and the summary says which
    val = json.loads((run / "metrics.json").read_text())["val"]["macro_f1"]
    assert abs(val - info["combined_macro_f1_proba"]) < 1e-9

    from tailtune.report.build import build_report

    html_path = build_report([run], tmp_path / "r.html")
    html = html_path.read_text(encoding="utf-8")
    assert "router macro F1" in html and f"{info['router_macro_f1']:.3f}" in html
    assert f"{info['specialist_macro_f1']:.3f}" in html and "gold head → OTHER" in html


def test_no_cascade_block_for_other_backends():
    from tailtune.report.terminal import cascade_figures

    assert cascade_figures({"device": "cpu"}) is None
    assert cascade_figures(None) is None

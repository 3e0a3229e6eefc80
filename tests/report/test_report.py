"""The HTML report: self-contained, every section present, comparisons marked, terminal summaries."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from tailtune.evaluation.diagnose import compare_runs, diagnose_run
from tailtune.evaluation.errors import error_report
from tailtune.evaluation.noise import noise_report
from tailtune.report import (
    build_report,
    print_comparison,
    print_diagnosis,
    print_errors,
    print_noise,
    report_context,
)
from tailtune.runs import read_run

pytestmark = pytest.mark.unit


def test_report_is_self_contained_with_all_sections(built_report):
    html = built_report.read_text()
    # Offline: no external URL in any src/href, every image is an embedded PNG.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    imgs = re.findall(r'<img src="([^"]{0,30})', html)
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)
    # 1 comparison curves + 1 tier bars + 1 data + per run (curves, f1 hist, f1-count, support, confusion).
    assert len(imgs) == 3 + 2 * 5
    for heading in ("Comparison", "Data", "Training curves and diagnosis", "Per tier", "Noise floor",
                    "Error analysis", "Hardest mistakes"):  # fmt: skip
        assert heading in html
    assert "re-weighting signature" in html
    assert ("within noise" in html) or ("meaningful</span>" in html)


def test_report_context_numbers_match_the_analyses(two_runs):
    a, b = (read_run(p) for p in two_runs)
    ctx = report_context([a, b], n_boot=200)
    row = ctx["comparison"]["rows"][1]
    direct = noise_report(a, against=b, n_boot=200).paired
    assert row["paired"]["macro_f1"]["diff"] == pytest.approx(direct["macro_f1"]["diff"])
    assert row["paired"]["macro_f1"]["meaningful"] == direct["macro_f1"]["meaningful"]
    assert ctx["runs"][0]["diagnosis"]["verdict"] == diagnose_run(a).verdict
    assert ctx["data"]["n_classes"] == 30 and ctx["data"]["by_tier"]["head"] == 1


def test_single_run_without_history_has_no_curves(make_plain_run, tmp_path):
    out = build_report(make_plain_run, tmp_path / "one.html", n_boot=100)
    html = out.read_text()
    assert "Comparison" not in html.split("<main>")[1][:200]
    assert "Training curves and diagnosis" not in html
    assert "Hardest mistakes" in html


def test_terminal_summaries_print_the_numbers(two_runs):
    a, b = two_runs
    console = Console(record=True, width=160)
    print_diagnosis(diagnose_run(a), name="vanilla", console=console)
    noise = noise_report(a, against=b, n_boot=200)
    print_noise(noise, console=console)
    print_errors(error_report(a, n_hard=5), console=console)
    print_comparison(compare_runs([a, b]), console=console)
    text = console.export_text()
    assert f"exactly 1: {noise.support['n_one']}" in text
    assert f"{noise.ci['macro_f1']['value']:.4f}" in text
    assert "hardest mistakes" in text and "re-weighting signature" in text
    assert "paired bootstrap" in text

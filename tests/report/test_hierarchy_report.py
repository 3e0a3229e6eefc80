"""The HTML report of a hierarchical run shows every level, hF1, sibling vs wrong-branch
mistakes and the back-off rule, with the figures metrics.json holds."""

from __future__ import annotations

import pytest

from tailtune.config import config_from_dict
from tailtune.report import build_report
from tailtune.runs import read_run
from tailtune.workflow import train

pytestmark = pytest.mark.integration


def test_report_has_a_per_level_section(tmp_path):
    lines = ["text,Product,Issue"]
    words = {("bank", "fee"): "overdraft", ("bank", "fraud"): "stolen", ("card", "fee"): "annual"}
    for (product, issue), word in words.items():
        lines += [f"my {product} {word if i % 2 else 'account'} {i},{product},{issue}"
                  for i in range(16)]  # fmt: skip
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    path = train(config_from_dict({
        "runs_dir": str(tmp_path / "runs"), "seed": 1,
        "data": {"path": str(tmp_path / "d.csv"), "label_columns": ["Product", "Issue"],
                 "hierarchy": True},
        "split": {"val": 0.25},
        "model": {"hierarchy": {"strategy": "top_down", "backoff_precision": 0.8}},
    }))  # fmt: skip
    html = build_report([path], tmp_path / "r.html", n_boot=50).read_text()
    h = read_run(path).metrics["val"]["hierarchy"]
    assert "Per level" in html and "top-down per level" in html
    assert f"<b>{h['hierarchical']['h_f1']:.3f}</b>" in html
    assert f"{h['errors']['sibling']} stayed under the right parent" in html
    assert "Back-off rule saved with the model" in html and "precision [0.8, 0.8]" in html
    issue = h["levels"]["Issue"]
    assert f'<td>Issue</td><td class="num">{issue["n_classes"]}</td>' in html

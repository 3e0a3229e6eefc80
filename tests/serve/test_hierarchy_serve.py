"""Serving a hierarchical run: each prediction's label is the decoded path, with the back-off
answer and each level's probability, exactly as ``tailtune predict`` gives them."""

from __future__ import annotations

import json

import pytest

from tailtune.config import config_from_dict
from tailtune.workflow import predict, train

pytestmark = pytest.mark.integration

WORDS = {("bank", "fee"): "overdraft", ("bank", "fraud"): "stolen", ("card", "fee"): "annual"}


@pytest.fixture(scope="module")
def hier_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hier")
    lines = ["text,Product,Issue"]
    for (product, issue), word in WORDS.items():
        lines += [f"my {product} {word} {i},{product},{issue}" for i in range(16)]
    (tmp / "d.csv").write_text("\n".join(lines) + "\n")
    cfg = config_from_dict({
        "runs_dir": str(tmp / "runs"), "seed": 1,
        "data": {"path": str(tmp / "d.csv"), "label_columns": ["Product", "Issue"],
                 "hierarchy": True},
        "split": {"val": 0.25},
        "model": {"hierarchy": {"backoff_thresholds": [0.5, 0.999]}},
    })  # fmt: skip
    return train(cfg)


def test_serve_returns_path_answer_and_levels_as_predict_does(hier_run):
    from fastapi.testclient import TestClient

    from tailtune.serve.app import create_app

    texts = ["my card annual 3", "my bank stolen 9", "hello"]
    with TestClient(create_app(hier_run)) as client:
        r = client.post("/predict", json={"texts": texts, "top_k": 2})
    assert r.status_code == 200, r.text
    got = r.json()["predictions"]
    want = predict(hier_run, texts, top_k=2)
    assert [g["label"] for g in got] == want["pred"].tolist()
    assert [g["answer"] for g in got] == want["answer"].tolist()
    for g, lp, p in zip(got, want["level_proba"], want["prob"], strict=True):
        assert g["levels"] == pytest.approx(json.loads(lp), abs=1e-5)
        assert g["probability"] == pytest.approx(p, abs=1e-5)
        assert set(g["levels"]) <= {"Product", "Issue"}
    assert got[0]["label"] == "card | fee"

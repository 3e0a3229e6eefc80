"""``tailtune serve`` on a model of label sets: each prediction carries the label set the saved
thresholds choose, with probabilities, beside the usual top-k."""

from __future__ import annotations

import pytest

from tailtune.backends import load_backend
from tailtune.config import Config
from tailtune.workflow import train
from tests.workflow.test_train_sets import _tickets

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.integration


def test_serve_returns_label_sets(tmp_path, start_server):
    _tickets(tmp_path / "t.csv")
    cfg = Config()
    cfg.data.path, cfg.data.label_columns = str(tmp_path / "t.csv"), ["tags"]
    cfg.data.multi_label, cfg.data.multi_label_separator = "sets", ","
    cfg.runs_dir, cfg.model.tfidf.classifier = str(tmp_path / "runs"), "logreg"
    run = train(cfg)
    server = start_server(run)
    texts = ["invoice charge password reset w1", "hello there w2"]
    r = httpx.post(server.url + "/predict", json={"texts": texts}, timeout=30)
    assert r.status_code == 200, r.text
    rows = r.json()["predictions"]
    assert [[x["label"] for x in row["labels"]] for row in rows] == [["billing", "login"],
                                                                    ["other"]]  # fmt: skip
    backend = load_backend(run / "model")
    p = backend.predict_proba(texts)
    billing = list(backend.classes_).index("billing")
    assert rows[0]["labels"][0]["probability"] == pytest.approx(p[0, billing], abs=1e-6)

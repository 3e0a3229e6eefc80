"""``tailtune serve`` as a real process on 127.0.0.1, queried over HTTP with httpx."""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pytest

from tailtune.backends import load_backend

httpx = pytest.importorskip("httpx")

pytestmark = pytest.mark.integration

LIMITS = ["--max-texts", "8", "--max-text-chars", "200", "--max-batch", "16"]
TEXTS = ["please refund my money", "my parcel is late", "password locked"]


def post(server, body, **kw):
    return httpx.post(server.url + "/predict", json=body, timeout=30, **kw)


def test_predict_labels_health_and_docs(tfidf_run, start_server):
    server = start_server(tfidf_run, *LIMITS)
    labels = httpx.get(server.url + "/labels").json()["labels"]
    backend = load_backend(tfidf_run / "model")
    assert labels == [str(c) for c in backend.classes_]
    r = post(server, {"texts": TEXTS, "top_k": 2})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    want = backend.predict_proba(TEXTS)
    for row, p in zip(preds, want, strict=True):
        assert row["label"] == labels[int(p.argmax())]
        assert row["probability"] == pytest.approx(p.max(), abs=1e-6)
        assert [t["label"] for t in row["top_k"]] == [labels[j] for j in np.argsort(-p)[:2]]
    assert len(post(server, {"texts": TEXTS}).json()["predictions"][0]["top_k"]) == 3
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["backend"] == "tfidf" and health["n_labels"] == 4
    assert httpx.get(server.url + "/docs").status_code == 200
    assert "/predict" in httpx.get(server.url + "/openapi.json").json()["paths"]


BAD = [
    # (body or raw bytes, status, start of the error message)
    (b'{"texts": ["a", ', 400, "request body: malformed JSON"),
    ({"texts": []}, 422, "texts: empty list"),
    ({"texts": ["fine", 5]}, 422, "texts[1]: expected a string, got a number (5)"),
    ({"texts": ["fine", None]}, 422, "texts[1]: expected a string, got null"),
    ({"texts": "just one string"}, 422, "texts: expected a list of strings, got a string"),
    ({"top_k": 2}, 422, "texts: required"),
    ([1, 2], 422, "request body: expected a JSON object"),
    ({"texts": ["x" * 201]}, 413, "texts[0]: 201 characters, at most 200"),
    ({"texts": ["a"] * 9}, 413, "texts: 9 texts, at most 8 per request"),
    ({"texts": ["a"], "top_k": 0}, 422, "top_k: got 0, expected 1 to 4"),
    ({"texts": ["a"], "top_k": 5}, 422, "top_k: got 5, expected 1 to 4"),
    ({"texts": ["a"], "top_k": "3"}, 422, "top_k: expected an integer, got a string"),
    ({"texts": ["a"], "colour": "red"}, 422, "colour: unknown field"),
]


def test_every_bad_request_gets_a_4xx_naming_the_problem(tfidf_run, start_server):
    server = start_server(tfidf_run, *LIMITS)
    for body, status, message in BAD:
        if isinstance(body, bytes):
            r = httpx.post(
                server.url + "/predict", content=body, headers={"content-type": "application/json"}
            )
        else:
            r = post(server, body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"].startswith(message), (body, r.json())
    huge = httpx.post(
        server.url + "/predict",
        content=b'{"texts": ["' + b"a" * 200_000 + b'"]}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["error"].startswith("request body:")
    # still alive and still right after all of that
    assert server.proc.poll() is None
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    assert post(server, {"texts": TEXTS}).status_code == 200


def test_concurrent_requests_are_micro_batched(tfidf_run, start_server):
    server = start_server(tfidf_run, *LIMITS, "--max-wait-ms", "150")
    before = httpx.get(server.url + "/health").json()
    with cf.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda t: post(server, {"texts": [t]}), TEXTS * 4))
    assert all(a.status_code == 200 for a in answers)
    after = httpx.get(server.url + "/health").json()
    assert after["texts"] - before["texts"] == 12
    assert after["batches"] - before["batches"] < 12  # several requests shared a model call
    # answers are each request's own rows, not a neighbour's
    backend = load_backend(tfidf_run / "model")
    want = backend.predict(TEXTS * 4)
    assert [a.json()["predictions"][0]["label"] for a in answers] == list(want)


def test_serving_an_onnx_export_and_two_workers(encoder_run, start_server, tmp_path):
    from tailtune.export import OnnxClassifier, export_run

    export_run(encoder_run, "onnx", tmp_path / "onnx")
    server = start_server(encoder_run, "--onnx", str(tmp_path / "onnx"), "--workers", "2")
    assert httpx.get(server.url + "/health").json()["kind"] == "onnx"
    r = post(server, {"texts": TEXTS, "top_k": 1})
    assert r.status_code == 200, r.text
    want = OnnxClassifier(tmp_path / "onnx").predict_proba(TEXTS)
    got = [row["probability"] for row in r.json()["predictions"]]
    np.testing.assert_allclose(got, want.max(axis=1), atol=1e-6)
    kids = set(children(server.proc.pid))  # the 2 workers (and multiprocessing's helper)
    assert len(kids) >= 2  # /health names no pid: a public endpoint says nothing of the host


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    from pathlib import Path

    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_bad_options_and_sources_fail_in_one_line(tmp_path):
    import subprocess
    import sys

    from tests.serve.conftest import SERVE

    r = subprocess.run(
        [sys.executable, *SERVE, str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    json.dumps(r.stderr)

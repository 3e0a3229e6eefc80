"""The server against a hostile or careless world, with real ``tailtune serve`` processes: bodies
cut off while read (chunked too), one error shape, nothing private in public endpoints, an API
key, startup errors before "serving", and workers that end with their supervisor."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.serve.conftest import SERVE, Server, free_port  # noqa: E402

pytestmark = pytest.mark.integration

# a small body limit: 1 text of at most 10 characters -> 1 * (10 * 6 + 16) + 65,536 bytes
LIMITS = ["--max-texts", "1", "--max-text-chars", "10"]
LIMIT_BYTES = 65_612
KEY = "k3y-for-tests"


@pytest.fixture(scope="module")
def server(tfidf_run):
    srv = Server([str(tfidf_run), *LIMITS, "--api-key", KEY], free_port())
    try:
        srv.wait_healthy()
        yield srv
    finally:
        srv.stop()


def _post(server, content, content_type="application/json", key=KEY, **headers):
    if content_type is not None:
        headers["content-type"] = content_type
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return httpx.post(server.url + "/predict", content=content, headers=headers, timeout=60)


def _error(r, status, start):
    assert r.status_code == status, r.text
    body = r.json()
    assert list(body) == ["error"] and body["error"].startswith(start), body


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        kib = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return kib / 1024


def test_chunked_body_is_cut_off_at_the_limit(server):
    """No Content-Length: the server stops reading at the limit and answers 413, long before
    the client has sent its 256 MiB (which the server never holds in memory)."""
    import select

    before = _rss_mib(server.proc.pid)
    chunk = b"a" * 65_536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(
            b"POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\n".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for _ in range(4096):
            if select.select([conn], [], [], 0)[0]:
                break  # the server answered: stop sending
            try:
                conn.sendall(frame)
            except (TimeoutError, OSError):
                break  # the server stopped reading
            sent += len(chunk)
        conn.settimeout(30)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = conn.recv(65_536)
            if not part:
                break
            answer += part
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    message = json.loads(body)
    assert list(message) == ["error"]
    assert message["error"] == f"request body: more than the limit of {LIMIT_BYTES} bytes"
    assert sent < 64 << 20  # far less than the 256 MiB the client had to send
    assert _rss_mib(server.proc.pid) - before < 64
    assert httpx.get(server.url + "/health").json()["status"] == "ok"


def test_declared_length_over_the_limit(server):
    _error(_post(server, b"x" * (LIMIT_BYTES + 1)), 413, f"request body: {LIMIT_BYTES + 1} bytes")


@pytest.mark.parametrize(
    ("content", "content_type", "status", "start"),
    [
        (b'{"texts": ["\xff\xfe"]}', "application/json", 400, "request body: not UTF-8 text"),
        (b"[" * 30_000 + b"]" * 30_000, "application/json", 400, "request body: JSON nested"),
        (b'{"texts": ["a"]}', "text/plain", 415, "Content-Type: expected application/json"),
        (b'{"texts": ["a"]}', None, 415, "Content-Type: expected application/json, got none"),
        (b'{"texts": ["a"', "application/json", 400, "request body: malformed JSON"),
        (b'{"texts": []}', "application/json", 422, "texts: empty list"),
    ],
    ids=["not-utf8", "deep-json", "text-plain", "no-content-type", "malformed", "empty"],
)
def test_every_4xx_has_one_shape(server, content, content_type, status, start):
    _error(_post(server, content, content_type), status, start)


def test_unknown_paths_and_methods_have_the_same_shape(server):
    auth = {"authorization": f"Bearer {KEY}"}
    _error(httpx.get(server.url + "/nope", headers=auth), 404, "Not Found")
    _error(httpx.put(server.url + "/predict", headers=auth), 405, "Method Not Allowed")


def test_public_endpoints_hold_no_paths_or_pids(server, tfidf_run):
    auth = {"authorization": f"Bearer {KEY}"}
    health = httpx.get(server.url + "/health")  # open without the key: a liveness probe
    assert health.status_code == 200
    spec = httpx.get(server.url + "/openapi.json", headers=auth)
    assert spec.status_code == 200
    for text in (health.text, spec.text):
        assert str(tfidf_run.parent) not in text and str(os.getcwd()) not in text
    assert "pid" not in health.json()
    assert health.json()["source"] == tfidf_run.name


def test_api_key(server):
    _error(_post(server, b'{"texts": ["card"]}', key=None), 401, "API key: missing or wrong")
    _error(_post(server, b'{"texts": ["card"]}', key="wrong"), 401, "API key: missing or wrong")
    assert _post(server, b'{"texts": ["card"]}').status_code == 200
    r = _post(server, b'{"texts": ["card"]}', key=None, **{"x-api-key": KEY})
    assert r.status_code == 200, r.text
    _error(httpx.get(server.url + "/labels"), 401, "API key")


def _serve(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, *SERVE, *map(str, args)], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def _one_line_before_serving(r, *fragments):
    assert r.returncode == 1, r.stdout + r.stderr
    assert "serving" not in r.stdout and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_port_in_use(tfidf_run):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = _serve(tfidf_run, "--port", port)
    _one_line_before_serving(r, f"--port {port}: cannot listen there: already in use")


@pytest.mark.parametrize(
    ("host", "fragment"),
    [("no-such-host.invalid", "not an address or a known host name"),
     ("10.255.255.1", "not an address of this machine")],
)  # fmt: skip
def test_bad_host(tfidf_run, host, fragment):
    _one_line_before_serving(_serve(tfidf_run, "--host", host, "--port", free_port()), fragment)


def test_bad_workers_and_damaged_model(tfidf_run, tmp_path):
    import shutil

    _one_line_before_serving(_serve(tfidf_run, "--workers", "0"), "--workers 0")
    bad = shutil.copytree(tfidf_run, tmp_path / "bad")
    (bad / "model" / "arrays.npz").write_bytes(b"PK\x03\x04 truncated")
    _one_line_before_serving(_serve(bad, "--port", free_port()), "the saved tfidf model")


def test_binding_beyond_loopback_warns_without_a_key(tfidf_run):
    srv = Server([str(tfidf_run), "--host", "0.0.0.0"], free_port())
    try:
        srv.wait_healthy()
    finally:
        srv.stop()
    out = srv.output()
    assert "warning: --host 0.0.0.0 serves anyone" in out and "--api-key" in out
    assert out.index("warning") < out.index("serving")


def _children(pid: int) -> set[int]:
    from tests.serve.test_server import children

    return set(children(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        stat = fh.read().rsplit(")", 1)[-1].split()
    return stat[0] != "Z"


def test_workers_end_with_their_supervisor(tfidf_run):
    srv = Server([str(tfidf_run), "--workers", "2"], free_port())
    try:
        srv.wait_healthy()
        workers = _children(srv.proc.pid)
        assert len(workers) >= 2
        srv.proc.send_signal(signal.SIGKILL)  # the supervisor only: no cleanup of its own
        srv.proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers)
        with pytest.raises(httpx.TransportError):
            httpx.get(srv.url + "/health", timeout=2)
    finally:
        for pid in _children(srv.proc.pid):
            os.kill(pid, signal.SIGKILL)
        srv.stop()

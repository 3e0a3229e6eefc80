"""A real MLflow tracking server (SQLite backend, 127.0.0.1, a free port) for the module.

The server starts on a copy of an SQLite store migrated once per session: creating MLflow's
tables takes a good share of a server's start on a busy machine, and is MLflow's work, not
tailtune's (the local-store test still creates one from nothing).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory):
    """An empty MLflow SQLite store with its tables created (copied by each server)."""
    pytest.importorskip("mlflow")
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = tmp_path_factory.mktemp("mlflow-template")
    store = SqlAlchemyStore(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri())
    store.engine.dispose()
    return root / "mlflow.db"


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory, migrated_store):
    """``http://127.0.0.1:<port>`` of ``mlflow server`` started here; stopped after the module."""
    root = tmp_path_factory.mktemp("mlflow-server")
    shutil.copy(migrated_store, root / "mlflow.db")
    port = free_port()
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", (root / "artifacts").as_uri(),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed below
    # no background job runner: the tests log runs, they queue no server-side jobs
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {(root / 'server.log').read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/health", timeout=2) as resp,
            ):
                if resp.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not answer /health within 180 s")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    """Directory of a tiny random BERT with its tokenizer (tests.training.tiny_models)."""
    pytest.importorskip("transformers")
    from tests.training.tiny_models import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny-bert"), "bert")

"""The HTTP API: ``POST /predict``, ``GET /health``, ``GET /labels``, OpenAPI docs at ``/docs``.

``create_app`` loads the model once and returns a FastAPI app whose requests go through one
:class:`~tailtune.serve.batcher.MicroBatcher`. Every bad request is answered with a 4xx and
``{"error": "<field>: <what was wrong>"}``: malformed JSON (400), a missing or mistyped field,
an empty list, a non-string text, ``top_k`` out of range (422), too many texts, a text or a body
over the size limit (413, also for chunked bodies), a body that is not JSON (415), a missing API
key (401), an unknown path (404). Nothing a client sends stops the server.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from tailtune._extras import require
from tailtune.errors import TailtuneError
from tailtune.serve._schema import PredictRequest, PredictResponse
from tailtune.serve.batcher import MicroBatcher
from tailtune.serve.guards import Guard, body_error
from tailtune.serve.predictor import load_predictor

__all__ = ["create_app", "Limits"]


class Limits:
    """What one request may hold, and how requests are batched."""

    def __init__(self, max_batch=32, max_wait_ms=5.0, max_text_chars=10_000, max_texts=256):
        for name, value in (
            ("max_batch", max_batch),
            ("max_texts", max_texts),
            ("max_text_chars", max_text_chars),
        ):
            if int(value) < 1:
                raise TailtuneError(f"serve: {name} must be at least 1, got {value}")
        if max_wait_ms < 0:
            raise TailtuneError(f"serve: max_wait_ms must be 0 or more, got {max_wait_ms}")
        self.max_batch, self.max_wait_ms = int(max_batch), float(max_wait_ms)
        self.max_text_chars, self.max_texts = int(max_text_chars), int(max_texts)

    def max_body_bytes(self) -> int:
        """A body bound for the Content-Length check: every text at its limit, 4 bytes a char
        (UTF-8) and JSON escaping headroom, plus 64 KiB for the rest."""
        return self.max_texts * (self.max_text_chars * 6 + 16) + 65_536


def create_app(
    source: str | Path,
    *,
    max_batch: int = 32,
    max_wait_ms: float = 5.0,
    max_text_chars: int = 10_000,
    max_texts: int = 256,
    threads: int | None = None,
    api_key: str | None = None,
):
    """A FastAPI app serving a run directory (tailtune backend) or an ONNX export folder.

    With ``api_key`` every request but ``/health`` needs ``Authorization: Bearer KEY`` (or
    ``X-API-Key``), see :mod:`tailtune.serve.guards`.
    """
    fastapi = require("fastapi", "tailtune serve")
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    limits = Limits(max_batch, max_wait_ms, max_text_chars, max_texts)
    predictor = load_predictor(source, threads=threads)
    n_classes = len(predictor.classes)
    classes = np.asarray(predictor.classes, dtype=object)
    started = time.time()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        app.state.batcher = MicroBatcher(predictor.predict_proba, limits.max_batch, max_wait_ms)
        app.state.batcher.start()
        yield
        await app.state.batcher.stop()

    app = fastapi.FastAPI(
        title="tailtune",
        summary=f"{predictor.backend} classifier over {n_classes} labels",
        description=f"Serving `{Path(predictor.source).name}` ({predictor.kind}).",
        lifespan=lifespan,
    )
    app.add_middleware(Guard, max_body_bytes=limits.max_body_bytes(), api_key=api_key)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"error": message})

    @app.exception_handler(RequestValidationError)
    async def bad_request(request, exc: RequestValidationError):
        status, message = describe_validation(exc.errors())
        return error(status, message)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        # 404, 405, a body FastAPI could not read: the same {"error": ...} shape as the rest
        status, message = body_error(exc) or (exc.status_code, str(exc.detail))
        return error(status, message)

    @app.post("/predict", response_model=PredictResponse, response_model_exclude_none=True)
    async def predict(body: PredictRequest) -> Any:
        """Labels and top-k probabilities for each text (micro-batched with other requests)."""
        top_k = min(3, n_classes) if body.top_k is None else body.top_k
        problem = check_request(body.texts, top_k, limits, n_classes)
        if problem is not None:
            return error(*problem)
        try:
            proba = await app.state.batcher.submit(body.texts)
        except Exception as exc:  # a model failure answers this request, not the server
            return error(500, f"prediction failed: {type(exc).__name__}: {exc}")
        rows = top_k_rows(proba, classes, top_k)
        if predictor.rule is not None:  # label sets: what the saved thresholds choose
            for row, p, chosen in zip(rows, proba, predictor.rule.apply(proba), strict=True):
                idx = sorted(np.flatnonzero(chosen), key=lambda j: -p[j])
                row["labels"] = [{"label": str(classes[j]), "probability": round(float(p[j]), 6)}
                                 for j in idx]  # fmt: skip
        if predictor.decision is not None:  # a hierarchy: its saved decision rule
            _add_paths(rows, proba, predictor)
        return {"predictions": rows, "model": predictor.backend}

    @app.get("/health")
    async def health() -> dict:
        """Liveness and what is served."""
        b = app.state.batcher
        return {
            "status": "ok",
            "backend": predictor.backend,
            "kind": predictor.kind,
            "source": Path(predictor.source).name,  # no absolute path to a public endpoint
            "n_labels": n_classes,
            "uptime_s": round(time.time() - started, 1),
            "batches": b.batches,
            "texts": b.texts,
            "max_batch": limits.max_batch,
            "max_wait_ms": limits.max_wait_ms,
        }

    @app.get("/labels")
    async def labels() -> dict:
        """The labels the model predicts, in probability-column order."""
        return {"labels": predictor.classes}

    return app


def check_request(texts: list[str], top_k: int, limits: Limits, n_classes: int):
    """``(status, message)`` for the first problem in a well-typed request, else None."""
    if not texts:
        return 422, "texts: empty list; send at least one text"
    if len(texts) > limits.max_texts:
        return 413, f"texts: {len(texts)} texts, at most {limits.max_texts} per request"
    for i, text in enumerate(texts):
        if len(text) > limits.max_text_chars:
            return 413, f"texts[{i}]: {len(text)} characters, at most {limits.max_text_chars}"
    if not 1 <= top_k <= n_classes:
        return 422, f"top_k: got {top_k}, expected 1 to {n_classes} (the number of labels)"
    return None


def describe_validation(errors) -> tuple[int, str]:
    """One line for the first pydantic error: the field as ``texts[2]`` and what was expected."""
    if not errors:
        return 422, "request: invalid"
    first = errors[0]
    kind = first.get("type", "")
    if kind == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return 400, f"request body: malformed JSON ({detail})" if detail else "malformed JSON"
    loc = [p for p in first.get("loc", ()) if p != "body"]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    field = field or "request body"
    given = first.get("input")
    if kind == "missing":
        return 422, f"{field}: required" + (
            ' (send a JSON object like {"texts": ["..."], "top_k": 3})'
            if field in ("request body", "texts")
            else ""
        )
    if kind in ("string_type", "list_type", "int_type", "model_attributes_type", "dict_type"):
        want = {"string_type": "a string", "list_type": "a list of strings"}.get(kind)
        want = want or {"int_type": "an integer"}.get(kind, 'a JSON object {"texts": [...]}')
        return 422, f"{field}: expected {want}, got {_json_type(given)}"
    if kind == "extra_forbidden":
        return 422, f"{field}: unknown field (allowed: texts, top_k)"
    return 422, f"{field}: {first.get('msg', 'invalid')}"


def _json_type(value) -> str:
    """The JSON name of a value's type, as the client wrote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def top_k_rows(proba: np.ndarray, classes: np.ndarray, k: int) -> list[dict]:
    """Per text: the label, its probability, and the ``k`` most probable labels."""
    order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    rows = []
    for p, idx in zip(proba, order, strict=True):
        top = [{"label": str(classes[j]), "probability": round(float(p[j]), 6)} for j in idx]
        rows.append({"label": top[0]["label"], "probability": top[0]["probability"], "top_k": top})
    return rows


def _add_paths(rows: list[dict], proba: np.ndarray, predictor) -> None:
    """The decoded path as each row's label (with its probability), the back-off answer and
    each level's probability (:class:`tailtune.objectives.path_decision.PathDecision`)."""
    out = predictor.decision.describe(proba, predictor.classes)
    col = {c: j for j, c in enumerate(predictor.classes)}
    for i, row in enumerate(rows):
        row["label"] = out["path"][i]
        row["probability"] = round(float(proba[i, col[row["label"]]]), 6)
        row["answer"] = out["answer"][i]
        row["levels"] = {k: round(v, 6) for k, v in out["level_proba"][i].items()}

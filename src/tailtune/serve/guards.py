"""What stands between a client and the model: a body limit enforced while the body is read, an
optional API key, and one error shape (``{"error": ...}``) for every 4xx.

The body limit is an ASGI wrapper around ``receive``, so a chunked upload (no Content-Length)
is cut off at the limit instead of being read and parsed whole. The key is compared with
:func:`hmac.compare_digest` (constant time, so its length and prefix do not leak through
timing). Both answer before any route runs.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

__all__ = ["ENV_API_KEY", "BodyTooLarge", "Guard", "bad_content_type", "body_error", "error_body"]

ENV_API_KEY = "TAILTUNE_API_KEY"
#: paths answered without the key: liveness probes must not need a secret (nothing in it is one)
OPEN_PATHS = ("/health",)


class BodyTooLarge(Exception):
    """Raised inside ``receive`` once the body passes the limit (the message says by how much).

    FastAPI turns an error while reading the body into a 400 "error parsing the body";
    :func:`body_error` finds this one as its cause and answers 413.
    """


def body_error(exc: BaseException) -> tuple[int, str] | None:
    """``(status, message)`` for an HTTP error FastAPI raised while reading a body, by its cause:
    the size limit (413), bytes that are not UTF-8, JSON nested too deeply (400)."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, BodyTooLarge):
        return 413, str(cause)
    if isinstance(cause, UnicodeDecodeError):
        return 400, f"request body: not UTF-8 text (byte {cause.start})"
    if isinstance(cause, RecursionError):
        return 400, "request body: JSON nested too deeply"
    return None


def error_body(status: int, message: str) -> tuple[dict[str, Any], bytes]:
    """The ASGI start message and body of a ``{"error": message}`` answer."""
    body = json.dumps({"error": message}).encode("utf-8")
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    return start, body


def bad_content_type(headers: dict[bytes, bytes]) -> str | None:
    """The problem with a request's Content-Type for a JSON body, else None."""
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if kind == b"application/json" or kind.endswith(b"+json"):
        return None
    shown = kind.decode("latin-1") or "none"
    return f"Content-Type: expected application/json, got {shown}"


class Guard:
    """ASGI middleware: API key (401), JSON content type (415) and body size (413), as
    ``{"error": ...}``, before the app sees the request."""

    def __init__(self, app, max_body_bytes: int, api_key: str | None = None):
        self.app, self.max_body_bytes, self.api_key = app, int(max_body_bytes), api_key or None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        problem = self._refuse(scope, headers)
        if problem is not None:
            return await _answer(send, *problem)
        seen, started = 0, False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise BodyTooLarge(
                        f"request body: more than the limit of {self.max_body_bytes} bytes"
                    )
            return message

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge as exc:
            if not started:
                await _answer(send, 413, str(exc))

    def _refuse(self, scope, headers) -> tuple[int, str] | None:
        if self.api_key is not None and scope.get("path") not in OPEN_PATHS:
            given = _key_of(headers)
            if given is None or not hmac.compare_digest(given, self.api_key.encode("utf-8")):
                return 401, "API key: missing or wrong (send Authorization: Bearer KEY)"
        size = headers.get(b"content-length", b"")
        if size.isdigit() and int(size) > self.max_body_bytes:
            return 413, self._too_large(size.decode())
        if scope.get("method") == "POST":
            return (415, bad) if (bad := bad_content_type(headers)) else None
        return None

    def _too_large(self, size: str) -> str:
        return f"request body: {size} bytes, at most {self.max_body_bytes}"


def _key_of(headers: dict[bytes, bytes]) -> bytes | None:
    auth = headers.get(b"authorization", b"")
    if auth[:7].lower() == b"bearer ":
        return auth[7:].strip()
    return headers.get(b"x-api-key")


async def _answer(send, status: int, message: str) -> None:
    start, body = error_body(status, message)
    await send(start)
    await send({"type": "http.response.body", "body": body})

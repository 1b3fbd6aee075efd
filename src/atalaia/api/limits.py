"""Limits on what one request may carry, enforced before any endpoint runs.

Both are pure ASGI middleware, so they see the body as it streams in and never buffer it:

- `BodySizeLimit`: a body larger than `server.max_body_bytes` is answered with 413 before it
  is read: at once when its Content-Length says so, or as soon as the bytes counted while it
  streams (chunked, no Content-Length) pass the limit. Without it one request of hundreds of
  megabytes is read whole into memory. Socket.IO carries camera-sized images and enforces its
  own limit (`realtime.max_message_bytes`), so its path is left to it.
- `UrlTextGuard`: a path or query parameter with text the database cannot store (a NUL) is
  answered with 422 naming the parameter, instead of a server error from the database driver.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atalaia.config.text import text_problem
from atalaia.realtime.mount import SOCKETIO_PATH

TOO_LARGE = 413
UNPROCESSABLE = 422


class RequestBodyTooLarge(HTTPException):
    """Raised from `receive` when the streamed body passes the limit. An HTTPException, so a
    FastAPI endpoint reading its body answers 413 through the usual exception handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            TOO_LARGE,
            f"request body larger than {limit} bytes (server.max_body_bytes)",
        )


async def _send_json(send: Send, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    """413 for a request body above `max_bytes`, on every path but the `exempt` prefixes."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: Sequence[str] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        too_large = RequestBodyTooLarge(self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_json(send, TOO_LARGE, {"detail": too_large.detail})
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except RequestBodyTooLarge:
            # Reached here only when no exception handler answered it (a non-FastAPI reader).
            if started:
                raise
            await _send_json(send, TOO_LARGE, {"detail": too_large.detail})


def url_text_problems(scope: Scope) -> list[dict[str, object]]:
    """422 details, in FastAPI's shape, for path and query text the database cannot store."""
    problems: list[dict[str, object]] = []
    path = str(scope.get("path", ""))
    problem = text_problem(path)
    if problem is not None:
        problems.append({"loc": ["path"], "msg": problem, "type": "unstorable_text"})
    raw_query: bytes = scope.get("query_string", b"")
    if b"%00" not in raw_query and b"\x00" not in raw_query:
        # Decoded as UTF-8 with replacement, a query can hold no surrogate: only a NUL matters.
        return problems
    for name, value in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True):
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            shown = name.encode("unicode_escape").decode("ascii")
            problems.append({"loc": ["query", shown], "msg": problem, "type": "unstorable_text"})
    return problems


class UrlTextGuard:
    """422 for a NUL (or other text the database cannot store) in the path or the query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problems = url_text_problems(scope)
            if problems:
                await _send_json(send, UNPROCESSABLE, {"detail": problems})
                return
        await self.app(scope, receive, send)


def add_request_limits(app: Starlette, max_body_bytes: int) -> None:
    """Register both limits on the app; Socket.IO keeps its own body limit."""
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes, exempt=(SOCKETIO_PATH + "/",))
    app.add_middleware(UrlTextGuard)

"""The safety net under every response: no configured secret leaves the API.

Each endpoint already masks what it knows (`user:***@host` in camera and sink URLs, masked
error texts), and that stays: it keeps responses readable and lets a masked URL round-trip.
This middleware is the one pass behind them, so a field the next endpoint forgets, a library's
error text or a 422 echoing the request cannot carry a secret out. It rewrites JSON and plain
text bodies (the API, the UI's data, `/metrics`, error bodies):

- every literal secret of the configuration (`AtalaiaConfig.secrets()`: SecretStr values, URL
  passwords, secret-named fields, the API token when configured), and the passwords of the
  cameras stored in the database (added through the API later, or by another node), which are
  re-read every few seconds and at once after a request that may have changed them;
- any `scheme://user:password@` left in a text.

JSON is rewritten value by value and serialized again, so a secret written with JSON escapes
is still found and no replacement can break the document's structure. A body with nothing to
hide is sent as it came. Files, images, clips, the live MJPEG stream and Socket.IO are never
buffered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atalaia.redact import mask_known, mask_url_passwords, url_secrets
from atalaia.redact_config import ordered_secrets
from atalaia.storage.db import Database
from atalaia.storage.models import Camera

log = logging.getLogger(__name__)

MASKED_TYPES = ("application/json", "application/problem+json", "text/plain")
# Bodies above this are masked in a worker thread, so a big page never stalls the event loop.
THREAD_ABOVE_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNMASKED_PREFIXES = ("/socket.io",)


class ResponseSecrets:
    """The secrets no response may carry: the configuration's plus the stored cameras'.

    Camera passwords follow the database, not the YAML: `current()` re-reads the cameras' URLs
    when the last read is older than `refresh_interval`, or at once when asked to (after a
    request that may have added or changed a camera).
    """

    def __init__(
        self, configured: Iterable[str], database: Database, refresh_interval: float = 2.0
    ) -> None:
        self._configured = frozenset(v for v in configured if v)
        self._database = database
        self._refresh_interval = refresh_interval
        self._cameras: frozenset[str] = frozenset()
        self._values = ordered_secrets(self._configured)
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()
        self._failing = False
        self._pending: asyncio.Task[None] | None = None

    async def current(self, refresh: bool = False) -> list[str]:
        """Every secret, longest first.

        The first call, and one with `refresh`, wait for the database; otherwise a due re-read
        runs in the background and this answer uses the set as it is, so a slow or locked
        database never holds up `/background/health` or `/metrics`.
        """
        if refresh or self._read_at == float("-inf"):
            async with self._lock:
                await asyncio.to_thread(self._read_cameras)
        elif time.monotonic() - self._read_at >= self._refresh_interval and self._pending is None:
            self._pending = asyncio.create_task(self._background_read())
        return self._values

    async def _background_read(self) -> None:
        try:
            async with self._lock:
                await asyncio.to_thread(self._read_cameras)
        finally:
            self._pending = None

    def _read_cameras(self) -> None:
        self._read_at = time.monotonic()
        try:
            with self._database.session() as session:
                urls = list(session.scalars(select(Camera.source_url)))
        except Exception as exc:  # a database not migrated yet, or down: keep what we knew
            if not self._failing:
                log.warning(
                    "response masking cannot read the cameras' URLs: %s", type(exc).__name__
                )
            self._failing = True
            return
        self._failing = False
        cameras = frozenset(s for url in urls for s in url_secrets(url))
        if cameras != self._cameras:
            self._cameras = cameras
            self._values = ordered_secrets(self._configured | cameras)


def mask_text(text: str, secrets: list[str]) -> str:
    return mask_known(mask_url_passwords(text), secrets)


def mask_json(node: Any, secrets: list[str]) -> Any:
    """`node` with every string (keys too) masked; the same object when nothing changed."""
    if isinstance(node, str):
        return mask_text(node, secrets)
    if isinstance(node, list):
        items = [mask_json(v, secrets) for v in node]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if isinstance(node, dict):
        pairs = [(mask_json(k, secrets), mask_json(v, secrets)) for k, v in node.items()]
        unchanged = all(
            k2 is k and v2 is v for (k2, v2), (k, v) in zip(pairs, node.items(), strict=True)
        )
        return node if unchanged else dict(pairs)
    return node


def _may_hold(body: bytes, secrets: list[str]) -> bool:
    """A cheap test before any parsing: can `body` hold a secret or a URL password at all?"""
    if b"://" in body and b"@" in body:
        return True
    for value in secrets:
        if len(value) < 4:
            continue
        forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        if any(form.encode("utf-8", "surrogatepass") in body for form in forms):
            return True
    return False


def mask_body(body: bytes, content_type: str, secrets: list[str]) -> bytes:
    """The masked body; the very same bytes when there is nothing to hide."""
    if not _may_hold(body, secrets):
        return body
    if "json" in content_type:
        try:
            document = json.loads(body)
        except ValueError:
            pass  # not JSON after all: masked as text below
        else:
            masked = mask_json(document, secrets)
            if masked is document:
                return body
            return json.dumps(
                masked, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode("utf-8")
    text = body.decode("utf-8", "surrogateescape")
    masked_text = mask_text(text, secrets)
    return body if masked_text == text else masked_text.encode("utf-8", "surrogateescape")


class SecretMaskingMiddleware:
    """Pure ASGI (no `BaseHTTPMiddleware`): only maskable bodies are held, everything else
    streams through untouched."""

    def __init__(self, app: ASGIApp, secrets: ResponseSecrets) -> None:
        self.app = app
        self.secrets = secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "HEAD"  # no body, and its content-length must stay the GET's
            or scope["path"].startswith(UNMASKED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        changes_state = scope["method"] not in SAFE_METHODS
        start: Message | None = None
        content_type = ""
        chunks: list[bytes] = []

        async def masked_send(message: Message) -> None:
            nonlocal start, content_type
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
                maskable = content_type.startswith(MASKED_TYPES) and (
                    b"content-encoding" not in headers
                )
                if not maskable:
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            secrets = await self.secrets.current(refresh=changes_state)
            if len(body) > THREAD_ABOVE_BYTES:
                body = await asyncio.to_thread(mask_body, body, content_type, secrets)
            else:
                body = mask_body(body, content_type, secrets)
            sized = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            sized.append((b"content-length", str(len(body)).encode("latin-1")))
            await send({**start, "headers": sized})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, masked_send)


def add_secret_masking(app: Any, configured: Iterable[str], database: Database) -> None:
    """Register the pass on `app` (a FastAPI/Starlette app)."""
    app.add_middleware(SecretMaskingMiddleware, secrets=ResponseSecrets(configured, database))

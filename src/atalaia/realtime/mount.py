"""Puts the real-time endpoint into the FastAPI app, so one uvicorn port serves both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from atalaia.api.auth import TokenCheck
from atalaia.config import AtalaiaConfig
from atalaia.realtime.health import router as health_router
from atalaia.realtime.socket_server import DetectionSource, RealtimeServer

SOCKETIO_PATH = "/socket.io"


def attach_realtime(
    app: FastAPI, config: AtalaiaConfig, detection: DetectionSource, token_check: TokenCheck
) -> RealtimeServer | None:
    """Add `GET /health` and, unless `realtime.enabled` is off, mount Socket.IO at
    /socket.io; the server's threads stop when the app's lifespan ends."""
    app.include_router(health_router)
    app.state.realtime = None
    if not config.realtime.enabled:
        return None
    server = RealtimeServer(config.realtime, token_check, detection)
    app.mount(SOCKETIO_PATH, server.asgi_app())
    app.state.realtime = server
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            try:
                yield state
            finally:
                server.close()

    app.router.lifespan_context = lifespan
    return server

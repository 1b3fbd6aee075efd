"""Builds the FastAPI application around one BackgroundManager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from atalaia import __version__
from atalaia.api import background, cameras, events, live, metrics, nodes, ui
from atalaia.api.auth import TokenCheck, token_for_config
from atalaia.api.bodies import refresh_bodies
from atalaia.api.limits import add_request_limits
from atalaia.api.masking import add_secret_masking
from atalaia.config import AtalaiaConfig
from atalaia.realtime import attach_realtime
from atalaia.service.manager import BackgroundManager


def create_app(
    config: AtalaiaConfig,
    manager: BackgroundManager | None = None,
    token_check: TokenCheck | None = None,
) -> FastAPI:
    """The app starts the background system with it and stops it with it (design note 002)."""
    manager = manager or BackgroundManager(config)
    if token_check is None:
        token_check, _ = token_for_config(config, manager.database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await manager.startup()
        try:
            yield
        finally:
            await manager.shutdown()

    app = FastAPI(
        title="atalaia",
        version=__version__,
        lifespan=lifespan,
        description="Real-time video analytics: cameras, detection, rules and alerts.",
    )
    app.state.manager = manager
    app.state.config = config
    app.state.token_check = token_check
    add_secret_masking(app, config.secrets(), manager.database)  # the net under every body
    add_request_limits(app, config.server.max_body_bytes)  # 413 and 422 before any endpoint
    app.include_router(background.router)
    app.include_router(cameras.router)
    app.include_router(live.router)
    app.include_router(events.router)
    app.include_router(metrics.router)
    app.include_router(nodes.router)
    app.include_router(ui.router)
    # Socket.IO at /socket.io and GET /health; frames go to the cameras' detector process.
    attach_realtime(app, config, lambda: manager.client_detection, token_check)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            refresh_bodies()  # plugin types registered since import (a deployment's rules)
        return FastAPI.openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app

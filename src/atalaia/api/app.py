"""Builds the FastAPI application around one BackgroundManager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from atalaia import __version__
from atalaia.api import background, cameras, events, live, metrics, ui
from atalaia.api.auth import TokenCheck, load_or_create_token
from atalaia.config import AtalaiaConfig
from atalaia.realtime import attach_realtime
from atalaia.service.manager import BackgroundManager


def create_app(
    config: AtalaiaConfig,
    manager: BackgroundManager | None = None,
    token_check: TokenCheck | None = None,
) -> FastAPI:
    """The app starts the background system with it and stops it with it (note 002)."""
    manager = manager or BackgroundManager(config)
    if token_check is None:
        configured = config.server.token.get_secret_value() if config.server.token else None
        token_check, _ = load_or_create_token(config.data_dir, configured)

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
    app.include_router(background.router)
    app.include_router(cameras.router)
    app.include_router(live.router)
    app.include_router(events.router)
    app.include_router(metrics.router)
    app.include_router(ui.router)
    # Socket.IO at /socket.io and GET /health; frames go to the cameras' detector process.
    attach_realtime(app, config, lambda: manager.client_detection, token_check)
    return app

"""Run the service in this process: logging first, then uvicorn with the app."""

from __future__ import annotations

import logging

import uvicorn

from atalaia.api.app import create_app
from atalaia.api.auth import announce_token, load_or_create_token
from atalaia.config import AtalaiaConfig
from atalaia.logs import LogWriter, configure_process_logging
from atalaia.redact import mask_url
from atalaia.service.manager import BackgroundManager

log = logging.getLogger(__name__)


def start_logging(config: AtalaiaConfig) -> LogWriter:
    """One writer for the whole service; this process logs as SUPERVISOR (the seed's tag)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    cfg = config.logging
    writer = LogWriter(
        level=cfg.level,
        fmt=cfg.format,
        file=config.log_file,
        console=cfg.console,
        queue_size=cfg.queue_size,
        known_secrets=config.secrets(),
    )
    configure_process_logging(writer.queue, tag="SUPERVISOR", level=cfg.level)
    return writer


def serve(config: AtalaiaConfig) -> None:
    """Block until SIGINT/SIGTERM; uvicorn's own loggers go through our writer."""
    writer = start_logging(config)
    configured = config.server.token.get_secret_value() if config.server.token else None
    token_check, new_token = load_or_create_token(config.data_dir, configured)
    if new_token is not None:
        announce_token(new_token)
    try:
        log.info(
            "atalaia listening on http://%s:%d (database %s, data in %s)",
            config.server.host,
            config.server.port,
            mask_url(config.database_url),
            config.data_dir.resolve(),
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(config, BackgroundManager(config, log_queue=writer.queue), token_check),
                host=config.server.host,
                port=config.server.port,
                log_config=None,
                access_log=False,
                # Socket.IO frames up to the configured transport limit (uvicorn's own: 16 MiB).
                ws_max_size=config.realtime.websocket_max_size,
                lifespan="on",
            )
        )
        server.run()
    finally:
        writer.stop()

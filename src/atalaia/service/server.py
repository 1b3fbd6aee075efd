"""Run the service in this process: logging first, then uvicorn with the app."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn

from atalaia.api.app import create_app
from atalaia.api.auth import announce_token, token_for_config
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
    try:
        # The token's hash lives in the database: one manager and one database for both.
        manager = BackgroundManager(config, log_queue=writer.queue)
        token_check, new_token = token_for_config(config, manager.database)
        if new_token is not None:
            announce_token(new_token)
        log.info(
            "atalaia listening on http://%s:%d (database %s, data in %s)",
            config.server.host,
            config.server.port,
            mask_url(config.database_url),
            config.data_dir.resolve(),
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(config, manager, token_check),
                host=config.server.host,
                port=config.server.port,
                log_config=None,
                access_log=False,
                # Socket.IO frames up to the configured transport limit (uvicorn's own: 16 MiB).
                ws_max_size=config.realtime.websocket_max_size,
                lifespan="on",
            )
        )
        _run_to_clean_exit(server)
        log.info("atalaia stopped")
    finally:
        writer.stop()


def _run_to_clean_exit(server: uvicorn.Server) -> None:
    """Run uvicorn; after a SIGINT/SIGTERM shutdown, return instead of dying by the signal.

    Why: after its graceful shutdown uvicorn restores the handlers it found and raises the
    signal again, so that with the default handlers the process dies by SIGTERM: no `finally`,
    no `atexit`. The log writer would never flush its last lines, and multiprocessing's
    finalizers would never release the log queue's semaphores (the resource tracker then warns
    of "leaked semaphore objects"). With these handlers the raised signal only asks uvicorn to
    stop (already done), the caller's cleanup runs, and the exit status is 0.
    """

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True  # a signal before uvicorn took over still stops it

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

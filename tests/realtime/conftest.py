"""A real service on 127.0.0.1: FastAPI + Socket.IO under uvicorn (in a thread, on its own event
loop), with a real detector process when a test asks for alert processing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import socketio
import uvicorn
from fastapi import FastAPI

from atalaia.api.app import create_app
from atalaia.config import AtalaiaConfig
from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.logs import LogWriter
from atalaia.service.manager import BackgroundManager

TOKEN = "realtime-test-token-0123456789"


def realtime_config(tmp_path: Path, **realtime: Any) -> AtalaiaConfig:
    """No cameras, the built-in model at input 320, and the given `realtime:` settings."""
    return AtalaiaConfig.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "server": {"token": TOKEN},
            "supervisor": {"heartbeat_interval": 0.3, "heartbeat_timeout": 10},
            "detectors": {"default": OnnxDetectorConfig(input_size=320).model_dump()},
            "cameras": [],
            "realtime": realtime,
        }
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def data_url(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


@dataclass
class LiveService:
    url: str
    app: FastAPI
    manager: BackgroundManager
    config: AtalaiaConfig
    loop: asyncio.AbstractEventLoop


@contextlib.contextmanager
def live_service(
    config: AtalaiaConfig, tmp_path: Path, processing: bool, ready_timeout: float = 60.0
) -> Iterator[LiveService]:
    """Serve `create_app` with uvicorn as `atalaia run` does (plus uvicorn's websocket limit
    from `realtime.websocket_max_size`); with `processing`, wait for the detector's model."""
    writer = LogWriter(file=tmp_path / "atalaia.log", console=False) if processing else None
    manager = BackgroundManager(
        config, log_queue=writer.queue if writer is not None else None, reconcile_interval=1.0
    )
    app = create_app(config, manager)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            ws_max_size=config.realtime.websocket_max_size,
        )
    )
    loops: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        loops.append(asyncio.get_running_loop())
        await server.serve()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + ready_timeout
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        if processing:
            while not (manager.client_detection is not None and manager.client_detection.connected):
                assert time.monotonic() < deadline, (
                    f"the detector did not load: {manager.processing_state} "
                    f"{manager.processing_error}"
                )
                time.sleep(0.1)
        yield LiveService(f"http://127.0.0.1:{port}", app, manager, config, loops[0])
    finally:
        server.should_exit = True
        thread.join(60)
        if writer is not None:
            writer.stop()
    assert not thread.is_alive(), "uvicorn did not stop"


@dataclass
class FrameClient:
    """One Socket.IO client that records every answer it gets, in order of arrival."""

    name: str = "client"
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    answers: asyncio.Queue[tuple[str, dict[str, Any]]] = field(default_factory=asyncio.Queue)
    welcome: dict[str, Any] | None = None
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        for event in ("detection_results", "detection_error"):
            self.sio.on(event, self._recorder(event))
        self.sio.on("connected", self._on_welcome)
        self.sio.on("disconnect", self._on_disconnect)

    def _recorder(self, event: str) -> Any:
        async def record(body: dict[str, Any]) -> None:
            self.answers.put_nowait((event, body))

        return record

    async def _on_welcome(self, body: dict[str, Any]) -> None:
        self.welcome = body

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected.set()

    async def connect(
        self, url: str, token: str | None = TOKEN, websocket_only: bool = True, **kwargs: Any
    ) -> None:
        await self.sio.connect(
            url,
            auth={"token": token} if token is not None else None,
            transports=["websocket"] if websocket_only else ["polling", "websocket"],
            wait_timeout=15,
            **kwargs,
        )

    async def send(self, *args: Any) -> None:
        await self.sio.emit("process_frame", args if len(args) > 1 else args[0])

    async def next_answer(self, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(self.answers.get(), timeout)

    async def ask(self, *args: Any, timeout: float = 30.0) -> tuple[str, dict[str, Any]]:
        """Send one frame and wait for its answer (one frame at a time per client)."""
        await self.send(*args)
        return await self.next_answer(timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

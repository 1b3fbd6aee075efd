"""RealtimeServer: the Socket.IO endpoint (python-socketio, ASGI) beside the HTTP API.

It only speaks the protocol: authentication at connect, one `FrameProcessor` call per
`process_frame`, the answer emitted back to the sender. python-socketio runs each event in its
own task, so a slow frame never holds up the next event of the same or another client.

Authentication: the API token, given as Socket.IO `auth={"token": ...}` (what the browser
client's `io({auth: {token}})` sends), as the UI's `atalaia_token` cookie, or as an
`Authorization: Bearer` / `X-API-Token` header. A connection without it is refused with a
`connect_error` ("missing or invalid API token"). Tokens in the query string are not accepted:
URLs end up in logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio

from atalaia.api.auth import COOKIE, TokenCheck
from atalaia.config.realtime import RealtimeConfig
from atalaia.pipeline.client_frames import ClientDetection
from atalaia.realtime.processor import FrameProcessor

log = logging.getLogger(__name__)

DetectionSource = Callable[[], ClientDetection | None]


def token_from(environ: dict[str, Any], auth: Any) -> str | None:
    """The token a connecting client presented, wherever it put it."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return str(auth["token"])
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    if environ.get("HTTP_X_API_TOKEN"):
        return str(environ["HTTP_X_API_TOKEN"])
    cookies = SimpleCookie()
    try:
        cookies.load(str(environ.get("HTTP_COOKIE", "")))
    except CookieError:
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel is not None else None


class RealtimeServer:
    """One per app: the python-socketio server, its decoding threads and its clients."""

    def __init__(
        self,
        config: RealtimeConfig,
        token_check: TokenCheck,
        detection: DetectionSource,
    ) -> None:
        self.config = config
        self.token_check = token_check
        self._detection = detection
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            # None: only the service's own origin; python-socketio reads [] as "no check".
            cors_allowed_origins=config.cors_allowed_origins or None,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            max_http_buffer_size=config.transport_max_bytes,
            logger=False,
            engineio_logger=False,
        )
        self.executor = ThreadPoolExecutor(config.decode_threads, thread_name_prefix="frame-decode")
        self.processor = FrameProcessor(config, detection, self.executor)
        self.clients: dict[str, float] = {}  # sid -> connected at (wall time)
        self._tasks: set[asyncio.Task[None]] = set()  # held so none is collected mid-run
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("process_frame", self._on_process_frame)

    def asgi_app(self) -> socketio.ASGIApp:
        """The ASGI app to mount at /socket.io (the mount does the routing)."""
        return socketio.ASGIApp(self.sio, socketio_path=None)

    @property
    def active_connections(self) -> int:
        return len(self.clients)

    def model_loaded(self) -> bool:
        detection = self._detection()
        return detection is not None and detection.connected

    def close(self) -> None:
        """At application shutdown: stop the decoding threads (frames still queued fail)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    def limits(self) -> dict[str, Any]:
        """What a client must respect; sent at connect so a UI can adapt before it sends."""
        cfg = self.config
        return {
            "min_frame_interval": cfg.min_frame_interval,
            "frame_burst": cfg.frame_burst,
            "max_in_flight": cfg.max_in_flight,
            "max_payload_bytes": cfg.max_payload_bytes,
            "max_message_bytes": cfg.transport_max_bytes,
            "max_image_pixels": cfg.max_image_pixels,
            "max_side": cfg.max_side,
        }

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not self.token_check.valid(token_from(environ, auth)):
            log.warning(
                "refused a Socket.IO connection from %s: missing or invalid API token",
                environ.get("REMOTE_ADDR", "?"),
            )
            raise socketio.exceptions.ConnectionRefusedError("missing or invalid API token")
        self.clients[sid] = time.time()
        log.info("Socket.IO client %s connected (%d now)", sid, len(self.clients))
        # Emitting inside the handler would go out before the connect acknowledgement.
        task = asyncio.ensure_future(self._welcome(sid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _welcome(self, sid: str) -> None:
        await self.sio.emit(
            "connected",
            {"status": "connected", "model_loaded": self.model_loaded(), "limits": self.limits()},
            to=sid,
        )

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.clients.pop(sid, None) is not None:
            self.processor.forget(sid)
            log.info("Socket.IO client %s disconnected (%s)", sid, reason)

    async def _on_process_frame(self, sid: str, *args: Any) -> None:
        if sid not in self.clients:
            return
        answer = await self.processor.process(sid, args)
        if "code" in answer.body:  # debug only: a flooding client must not flood the log
            log.debug("frame from %s refused: %s", sid, answer.body["error"])
        await self.sio.emit(answer.event, answer.body, to=sid)

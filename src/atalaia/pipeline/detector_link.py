"""DetectorLink: a camera's connection to its detector process.

Connecting, reconnecting and receiving happen on one background thread, so a detector that is
down, restarting or frozen never stalls capture. Sending never waits either: at most
`max_in_flight` requests may be unanswered (the detector answers every request with a result
or a drop), which also bounds what can sit in the socket buffer.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Client, Connection

from atalaia.frames import FrameRef
from atalaia.pipeline.detector_messages import (
    Detect,
    DetectorAnswer,
    DropCause,
    Dropped,
    Hello,
    Result,
    Welcome,
)

log = logging.getLogger(__name__)

OnMessage = Callable[[DetectorAnswer], None]


class DetectorLink:
    def __init__(
        self,
        address: str,
        authkey: bytes,
        hello: Hello,
        on_message: OnMessage,
        stopping: threading.Event,
        max_in_flight: int = 4,
        retry_s: float = 0.5,
        *,
        name: str = "detector",
        on_welcome: Callable[[list[str]], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        self.authkey = authkey
        self.hello = hello
        self.on_message = on_message
        self.stopping = stopping
        self.max_in_flight = max_in_flight
        self.retry_s = retry_s
        self.name = name
        # Told when the detector announces its classes, and when the connection closes
        # (its unanswered requests will then never be answered: a camera joining several
        # models must stop waiting for them).
        self.on_welcome = on_welcome
        self.on_lost = on_lost
        self.class_names: list[str] = []
        self.connects = 0
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name=f"link-{name}", daemon=True)

    def start(self) -> DetectorLink:
        self._thread.start()
        return self

    @property
    def connected(self) -> bool:
        return self._conn is not None and bool(self.class_names)

    def refusal(self) -> DropCause | None:
        """Why a request made now would be refused, or None: lets the camera drop a frame
        before converting it. A request may still be refused (or accepted) a moment later."""
        with self._lock:
            return self._refusal()

    def _refusal(self) -> DropCause | None:
        if self._conn is None or not self.class_names:
            return "no_detector"
        if self._in_flight >= self.max_in_flight:
            return "overload"
        return None

    def request(self, ref: FrameRef) -> DropCause | None:
        """Ask for detection of `ref`; None when sent, else why not (a drop cause)."""
        with self._lock:
            conn = self._conn
            refused = self._refusal()
            if refused is not None or conn is None:
                return refused or "no_detector"
            try:
                conn.send(Detect(ref.slot, ref.seq, ref.ts))
            except OSError:
                return "no_detector"
            self._in_flight += 1
        return None

    def _answered(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def _connect(self) -> Connection | None:
        try:
            conn = Client(self.address, family="AF_UNIX", authkey=self.authkey)
        except (OSError, EOFError):
            return None
        try:
            conn.send(self.hello)
        except OSError:
            conn.close()
            return None
        return conn

    def _run(self) -> None:
        while not self.stopping.is_set():
            conn = self._connect()
            if conn is None:
                self.stopping.wait(self.retry_s)
                continue
            self.connects += 1
            with self._lock:
                self._conn, self._in_flight = conn, 0
            try:
                self._receive(conn)
            finally:
                with self._lock:
                    self._conn = None
                    self.class_names = []
                with contextlib.suppress(OSError):
                    conn.close()
            if self.on_lost is not None:
                try:
                    self.on_lost()
                except Exception:
                    log.exception("handling the loss of detector %s failed", self.name)
            if not self.stopping.is_set():
                log.warning("lost the detector %s; reconnecting", self.name)

    def _receive(self, conn: Connection) -> None:
        # One poller for the connection (`conn.poll` builds a selector on every call).
        readable = select.poll()
        try:
            readable.register(conn.fileno(), select.POLLIN)
        except OSError:  # closed by `close()` meanwhile
            return
        while not self.stopping.is_set():
            try:
                if not readable.poll(500):
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                return
            if isinstance(message, Welcome):
                names = list(message.class_names)
                if self.on_welcome is not None:
                    self.on_welcome(names)
                self.class_names = names
                log.info("detector %s connected (%d classes)", self.name, len(names))
                continue
            if not isinstance(message, Result | Dropped):
                log.warning("ignored an unknown message from detector %s: %r", self.name, message)
                continue
            self._answered()
            try:
                self.on_message(message)
            except Exception:
                log.exception("handling a detector message failed")

    def close(self, timeout: float = 2.0) -> None:
        self.stopping.set()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.close()
        if self._thread.is_alive():
            self._thread.join(timeout)


def wait_connected(link: DetectorLink, timeout: float) -> bool:
    """For tests and start-up logs: wait until the detector answered the hello."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not link.connected:
        time.sleep(0.05)
    return link.connected

"""Fake boards and hosts for the monitor tests: a pty pair, a TCP server, listening sockets.

Everything here is real I/O on this machine (a pseudo-terminal, sockets on 127.0.0.1), so the
monitors under test go through pyserial and the socket module exactly as in production.
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


class BoardSide(ABC):
    """What a test does as the board: send lines, read the lines atalaia writes."""

    def __init__(self) -> None:
        self._pending = bytearray()

    @abstractmethod
    def _write(self, data: bytes) -> None:
        """Put bytes on the wire towards atalaia."""

    @abstractmethod
    def _read_ready(self, timeout: float) -> bytes | None:
        """Bytes from atalaia, waiting up to `timeout`; None when none came."""

    def send(self, data: bytes | dict[str, Any]) -> None:
        self._write(line(data) if isinstance(data, dict) else data)

    def read_line(self, timeout: float) -> bytes | None:
        """The next non-empty line from atalaia (with its newline), or None after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._pending:
                head, _, rest = bytes(self._pending).partition(b"\n")
                self._pending = bytearray(rest)
                if head.strip():
                    return head + b"\n"
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            chunk = self._read_ready(left)
            if chunk:
                self._pending += chunk

    @contextmanager
    def heartbeats(self, interval: float = 0.1, fw: str = "1.2.0") -> Iterator[None]:
        """Send heartbeats every `interval` seconds until the block ends (errors ignored:
        the port may be mid-replug)."""
        stop = threading.Event()
        started = time.monotonic()

        def beat() -> None:
            while not stop.is_set():
                uptime = int((time.monotonic() - started) * 1000)
                with suppress(OSError):
                    self.send({"type": "heartbeat", "uptime_ms": uptime, "fw": fw})
                stop.wait(interval)

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(2)


class PtyBoard(BoardSide):
    """A board on a pty pair. The monitor opens `path`, a symlink to the slave that, like
    /dev/ttyUSB0, disappears on `unplug()` and comes back (to a new pty) on `plug()`."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.path = directory / "ttyESP32"
        self.master: int | None = None
        self._slave: int | None = None
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass as they are
        self.master, self._slave = master, slave
        self._pending = bytearray()
        os.symlink(os.ttyname(slave), self.path)

    def unplug(self) -> None:
        if self.path.is_symlink():
            self.path.unlink()
        for fd in (self.master, self._slave):
            if fd is not None:
                os.close(fd)
        self.master = self._slave = None

    def _write(self, data: bytes) -> None:
        if self.master is None:
            raise OSError("board unplugged")
        os.write(self.master, data)

    def _read_ready(self, timeout: float) -> bytes | None:
        if self.master is None:
            time.sleep(timeout)
            return None
        ready, _, _ = select.select([self.master], [], [], timeout)
        return os.read(self.master, 4096) if ready else None


class TcpBoard(BoardSide):
    """A board behind a serial-to-TCP bridge (what `socket://host:port` talks to): a server on
    127.0.0.1 that takes one connection at a time, and can be stopped and started again on
    the same port."""

    def __init__(self) -> None:
        super().__init__()
        self.port = 0
        self._server: socket.socket | None = None
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(4)
        self.port = server.getsockname()[1]
        self._server = server
        self._pending = bytearray()
        self._thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._thread.start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # the server was closed
            with self._lock:
                old, self._conn = self._conn, conn
            if old is not None:
                old.close()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            conn, self._conn = self._conn, None
        for sock in (conn, server):
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        if self._thread is not None:
            self._thread.join(2)

    def _write(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            raise OSError("no connection")
        conn.sendall(data)

    def _read_ready(self, timeout: float) -> bytes | None:
        conn = self._conn
        if conn is None:
            time.sleep(min(timeout, 0.02))
            return None
        ready, _, _ = select.select([conn], [], [], timeout)
        if not ready:
            return None
        try:
            return conn.recv(4096) or None
        except OSError:
            return None


class Listener:
    """A TCP server on 127.0.0.1 that accepts and closes every connection (a camera's port)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        with suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(2)


class Blackhole:
    """A port on 127.0.0.1 whose connects hang: a listener with a full accept queue that never
    accepts, so the kernel drops further SYNs and a client waits out its own timeout. Nothing
    leaves loopback."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)
        time.sleep(0.05)

    def close(self) -> None:
        for sock in (*self._fillers, self.sock):
            sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connects are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def monitor_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("atalaia-host", "atalaia-serial", "atalaia-camera")) and t.is_alive()
    ]

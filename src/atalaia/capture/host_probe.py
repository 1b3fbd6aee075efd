"""Whether a network camera's host answers, so a reader in a long backoff can retry at once.

A camera that lost power or whose RTSP server restarted comes back long before a reader that
reached its backoff cap (30 s by default) would try again. While it waits, the reader asks this
module, about once a second, whether the host accepts a TCP connection on the stream's port:
nothing is sent, so the check is cheap and does not count as a viewer on cameras with a client
limit. Only TCP-based network sources are checked (RTSP, HTTP(S), RTMP); files, `demo://` and
devices have no host, and UDP-based streams no connection to make, so their readers simply wait
out the backoff.

Why not `atalaia.monitors.camera_probe`: it answers the same question in the main process, but
`monitors` sits above `capture` (it imports it), it needs the whole `CameraConfig` and data dir,
and its result would reach the camera process only through the supervisor, at the monitor's
interval. The reader probing its own source needs only the URL and reacts within a second.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# How often a waiting reader checks its host, and how long one check may take.
PROBE_INTERVAL = 1.0
PROBE_TIMEOUT = 1.0

# Why a reader's wait ended (shown as the camera's `retry_reason`).
BACKOFF_ELAPSED = "backoff elapsed"
HOST_REACHABLE = "host reachable"
CLOSED = "closed"

# Ports a URL without one implies; only schemes whose stream runs over one TCP connection.
TCP_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}


@dataclass(frozen=True, slots=True)
class HostAddress:
    """Where a network source listens. `label` (host:port) is safe to show: a URL's user
    information never reaches it."""

    host: str
    port: int

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def host_address(url: str) -> HostAddress | None:
    """The host and TCP port of a network camera URL; None for sources that have none."""
    if "://" not in url:
        return None  # a file path or /dev/videoN
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in TCP_DEFAULT_PORTS or not parts.hostname:
            return None
        port = parts.port or TCP_DEFAULT_PORTS[scheme]
    except ValueError:
        return None  # a port that is not a number: the open will say so
    return HostAddress(parts.hostname, port)


def host_answers(address: HostAddress, timeout: float) -> bool:
    """True when a TCP connection to `address` is accepted within `timeout` seconds."""
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return True
    except OSError:  # refused, unreachable, unresolvable, timed out
        return False


class HostWatch:
    """Waits out one backoff delay, cut short when the host answers after it was seen down.

    The trigger is the change from "does not answer" to "answers", not "answers" alone: a camera
    that accepts connections but fails to stream (a wrong path, a wrong password, a stream not
    ready yet) must keep backing off rather than be retried every second. "Seen down" carries
    over from one wait to the next (the host can come back between a failed attempt and the
    next check) until a retry on the host's return, or frames (`forget()`), clear it. Waits no
    longer than the probe interval are slept through: the backoff is short anyway.
    """

    def __init__(
        self,
        address: HostAddress | None,
        *,
        interval: float = PROBE_INTERVAL,
        timeout: float = PROBE_TIMEOUT,
        prober: Callable[[HostAddress, float], bool] = host_answers,
    ) -> None:
        self.address = address
        self.interval = interval
        self.timeout = timeout
        self._prober = prober
        self._seen_down = False

    def forget(self) -> None:
        """Frames flowed: whatever was seen before no longer says the host came back."""
        self._seen_down = False

    def wait(
        self,
        delay: float,
        stop: threading.Event,
        on_probe: Callable[[bool], None] = lambda reachable: None,
    ) -> str:
        """Wait up to `delay` seconds; returns why the wait ended (`BACKOFF_ELAPSED`,
        `HOST_REACHABLE`, `CLOSED`). `on_probe` hears each check's result."""
        if self.address is None or delay <= self.interval:
            return CLOSED if stop.wait(delay) else BACKOFF_ELAPSED
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return BACKOFF_ELAPSED
            reachable = self._prober(self.address, min(self.timeout, remaining))
            on_probe(reachable)
            if stop.is_set():
                return CLOSED
            if reachable and self._seen_down:
                self._seen_down = False
                return HOST_REACHABLE
            if not reachable:
                self._seen_down = True
            pause = min(self.interval, deadline - time.monotonic())
            if pause > 0 and stop.wait(pause):
                return CLOSED

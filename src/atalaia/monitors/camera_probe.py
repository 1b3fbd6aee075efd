"""How to tell, without opening the stream, whether a camera could be reached.

Network cameras get a TCP connect to their host and port (nothing is sent: the check must stay
cheap and must not count as a viewer on cameras with a client limit); files, the demo video and
`/dev/videoN` devices get an existence check. UDP-based streams (udp://, srt://) have no
connection to make, so they are reported as not checkable rather than guessed.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from atalaia.capture.kinds import SourceKind, file_path, source_kind
from atalaia.config.cameras import CameraConfig
from atalaia.demo import demo_video_path

ProbeKind = Literal["tcp", "file", "device", "unchecked"]

# Ports a URL without one implies.
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}
_CONNECTIONLESS = frozenset({"udp", "srt"})


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """What to check for one camera. `label` (host:port or a path) is safe to show: it never
    carries the URL's user information."""

    kind: ProbeKind
    label: str
    host: str | None = None
    port: int | None = None
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    reachable: bool
    latency_ms: float | None
    reason: str


def probe_target(camera: CameraConfig, data_dir: Path) -> ProbeTarget:
    """The check that fits the camera's source URL."""
    url = camera.source.url
    kind = source_kind(url)
    if kind is SourceKind.DEVICE:
        return ProbeTarget("device", url, path=Path(url))
    if kind is SourceKind.FILE:
        path = file_path(url)
        return ProbeTarget("file", str(path), path=path)
    if kind is SourceKind.DEMO:
        path = demo_video_path(data_dir)
        return ProbeTarget("file", str(path), path=path)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    shown_host = f"[{host}]" if ":" in host else host
    if scheme in _CONNECTIONLESS:
        return ProbeTarget("unchecked", f"{scheme}://{shown_host}")
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    if port is None:
        return ProbeTarget("unchecked", f"{scheme}://{shown_host}")
    return ProbeTarget("tcp", f"{shown_host}:{port}", host=host, port=port)


def probe(target: ProbeTarget, timeout: float) -> ProbeResult | None:
    """Run the check; None for targets that cannot be checked."""
    if target.kind == "tcp" and target.host is not None and target.port is not None:
        return _tcp_connect(target.host, target.port, timeout)
    if target.kind == "file" and target.path is not None:
        if target.path.is_file():
            return ProbeResult(True, None, "file exists")
        return ProbeResult(False, None, f"no such file: {target.path}")
    if target.kind == "device" and target.path is not None:
        if not target.path.exists():
            return ProbeResult(False, None, f"no such device: {target.path}")
        if not os.access(target.path, os.R_OK):
            return ProbeResult(False, None, f"device not readable: {target.path}")
        return ProbeResult(True, None, "device exists")
    return None


def _tcp_connect(host: str, port: int, timeout: float) -> ProbeResult:
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        return ProbeResult(False, None, f"no answer within {timeout:g} s")
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        return ProbeResult(False, None, reason)
    latency = (time.perf_counter() - started) * 1000.0
    return ProbeResult(True, round(latency, 2), f"connected in {latency:.1f} ms")

"""Turning FFmpeg's vaguest open error into one an operator can act on.

FFmpeg reports a host name that does not resolve as "Input/output error", which sends people
looking at the camera instead of at the address they typed. When an open fails that way, the
reader resolves the host itself and, if that fails too, says so.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def unresolvable_host(url: str) -> str | None:
    """`cannot resolve host '<name>'` when the URL's host does not resolve, else None.

    Blocks for as long as the system resolver takes (it is only called after a failed open,
    from the reader thread, never from the consumer).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if not host:
        return None
    try:
        socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"cannot resolve host {host!r} ({reason})"
    return None

"""Does a sink's destination answer? Asked while the sink's deliveries wait out a backoff.

After a long outage a sink's next scheduled retry can be minutes away (`backoff_max`, 300 s by
default) although its broker or server is long back. The dispatcher therefore probes the
destination every few seconds while deliveries are backed off and, once it answers after it was
seen down, makes them due at once (`atalaia.events.dispatcher`).

A sink that knows a better check implements `ProbingSink.probe()` (MQTT and AMQP connect, so the
connection the drain then uses is already open). Every other sink gets the generic check here: a
TCP connect to the host and port of its configured URL (`base_url` or `url`; `host`/`port`),
bounded by the sink's `timeout`. Nothing is sent, so a probe is never mistaken for an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from pydantic import SecretStr

from atalaia.config.sinks import SinkBase
from atalaia.sinks.base import DeliveryError, ProbingSink, Sink

# Ports implied by a URL without one.
DEFAULT_PORTS = {"http": 80, "https": 443, "amqp": 5672, "amqps": 5671, "mqtt": 1883}


def destination(config: SinkBase) -> tuple[str, int] | None:
    """The host and TCP port a sink's configuration sends to; None when it names none (the
    database sink)."""
    host, port = getattr(config, "host", None), getattr(config, "port", None)
    if isinstance(host, str) and isinstance(port, int):
        return host, port
    url = getattr(config, "base_url", None) or getattr(config, "url", None)
    if isinstance(url, SecretStr):
        url = url.get_secret_value()
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.hostname, port


async def tcp_probe(host: str, port: int, timeout: float) -> None:
    """Return once `host:port` accepts a TCP connection; raise `DeliveryError` otherwise. The
    error names host and port only, never a URL (which may carry a password)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        raise DeliveryError(f"{host}:{port} did not answer within {timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DeliveryError(f"{host}:{port} does not answer: {reason}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def can_probe(sink: Sink, config: SinkBase) -> bool:
    """Whether `probe_sink` has anything to check for this sink."""
    return isinstance(sink, ProbingSink) or destination(config) is not None


async def probe_sink(sink: Sink, config: SinkBase) -> None:
    """Check the sink's destination: its own `probe()` when it has one, else a TCP connect.
    Returns when it answers; raises (`DeliveryError` or the client's error) otherwise."""
    if isinstance(sink, ProbingSink):
        await sink.probe()
        return
    target = destination(config)
    if target is None:
        raise DeliveryError("nothing to probe: the sink names no host")
    await tcp_probe(*target, config.timeout)

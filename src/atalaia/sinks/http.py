"""What the HTTP sinks (Frigate, FindFace, webhook) share: a pooled client, status checks and
the health they report.

One `httpx.AsyncClient` per sink keeps connections alive between events (design note 001: a new
TCP/TLS connection per request costs more than the request), bounds how many it opens, and puts
the sink's `timeout` on connect, read, write and pool waits alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import httpx

from atalaia.config.sinks import SinkBase
from atalaia.events.types import AlertEvent
from atalaia.redact import mask_url
from atalaia.sinks.base import DeliveryError, PermanentDeliveryError
from atalaia.sinks.masking import describe_error, secret_values

# A retry cannot fix these: the destination understood and refused the request itself.
# 401/403/404 are not here: they usually mean a wrong setting, which an operator fixes, and
# the waiting events should then go out on their own.
PERMANENT_STATUSES = frozenset({400, 405, 410, 413, 415, 422})
BODY_EXCERPT_CHARS = 200

C = TypeVar("C", bound=SinkBase)


def pooled_client(
    timeout: float,
    max_connections: int = 10,
    *,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """A keep-alive client with bounded connections and `timeout` on every phase."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=60.0,
        ),
        auth=auth,
        headers=headers,
        follow_redirects=False,
    )


def check_response(response: httpx.Response, what: str) -> None:
    """Return on 2xx; raise a `DeliveryError` that says what the server answered otherwise."""
    if response.is_success:
        return
    excerpt = response.text[:BODY_EXCERPT_CHARS].strip().replace("\n", " ")
    message = f"{what}: HTTP {response.status_code}" + (f" {excerpt}" if excerpt else "")
    if response.status_code in PERMANENT_STATUSES:
        raise PermanentDeliveryError(message)
    raise DeliveryError(message)


def transport_error(exc: httpx.HTTPError, what: str) -> DeliveryError:
    """A connection, timeout or protocol failure as a retryable `DeliveryError`."""
    detail = str(exc).strip() or type(exc).__name__
    return DeliveryError(f"{what}: {type(exc).__name__}: {detail}")


class HttpSink(ABC, Generic[C]):
    """The part of an HTTP sink that is not about its destination's API.

    It owns the pooled client (opened by `start` or the first request, closed once by
    `close`) and the health the status pages show: whether the last delivery was
    acknowledged and, if not, why (masked). A subclass implements `send` and, where it needs
    other client settings, `new_client`; `health_details` adds its own counters.
    """

    def __init__(self, config: C, name: str, url: str) -> None:
        self.name = name
        self.config = config
        self._url = url
        self._secrets = secret_values(config)
        self._client: httpx.AsyncClient | None = None
        self._last_error: str | None = None
        self._ok = True

    def new_client(self) -> httpx.AsyncClient:
        """The sink's pooled client; override for a connection bound, auth or headers."""
        return pooled_client(self.config.timeout)

    async def start(self) -> None:
        if self._client is None:
            self._client = self.new_client()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def deliver(self, event: AlertEvent) -> None:
        """`send` the event, noting in the health whether the destination acknowledged it."""
        try:
            await self.send(event)
        except DeliveryError as exc:
            self._ok = False
            self._last_error = describe_error(exc, self._secrets)
            raise
        self._ok = True
        self._last_error = None

    @abstractmethod
    async def send(self, event: AlertEvent) -> None:
        """Deliver one event: return once acknowledged, raise a `DeliveryError` otherwise."""

    async def request(self, method: str, url: str, what: str, **options: Any) -> httpx.Response:
        """One request on the pooled client (opened if need be); a transport failure or a
        non-2xx answer raises a `DeliveryError` that starts with `what`."""
        if self._client is None:
            await self.start()
        assert self._client is not None
        try:
            response = await self._client.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise transport_error(exc, what) from None
        check_response(response, what)
        return response

    def health_details(self) -> dict[str, Any]:
        """Sink-specific entries of `health()`, shown between the URL and the last error."""
        return {}

    def health(self) -> dict[str, Any]:
        return {
            "connected": self._ok,
            "url": mask_url(self._url),
            **self.health_details(),
            "last_error": self._last_error,
        }

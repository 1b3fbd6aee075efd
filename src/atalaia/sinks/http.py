"""What the HTTP sinks (Frigate, FindFace, webhook) share: a pooled client and status checks.

One `httpx.AsyncClient` per sink keeps connections alive between events (design note 001: a new
TCP/TLS connection per request costs more than the request), bounds how many it opens, and puts
the sink's `timeout` on connect, read, write and pool waits alike.
"""

from __future__ import annotations

import httpx

from atalaia.sinks.base import DeliveryError, PermanentDeliveryError

# A retry cannot fix these: the destination understood and refused the request itself.
# 401/403/404 are not here: they usually mean a wrong setting, which an operator fixes, and
# the waiting events should then go out on their own.
PERMANENT_STATUSES = frozenset({400, 405, 410, 413, 415, 422})
BODY_EXCERPT_CHARS = 200


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

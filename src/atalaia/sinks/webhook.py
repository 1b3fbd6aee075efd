"""The webhook sink: each event as JSON, POSTed and signed.

Request: `POST <url>`, `Content-Type: application/json`, body = the event's `to_payload()`
(Frigate's before/after shape plus `id` and `created_at`), and the headers

- `X-Atalaia-Event-Id`: the event's stable id; a receiver drops repeats (delivery is at least
  once);
- `X-Atalaia-Timestamp`: Unix time in whole seconds when the request was signed;
- `X-Atalaia-Signature`: `sha256=` + hex HMAC-SHA256, keyed with the configured `secret`, of
  the bytes `timestamp + "." + body` (sent only when a secret is set).

A receiver recomputes the HMAC over the timestamp header, a dot and the raw body it received,
compares with `hmac.compare_digest`, and refuses timestamps far from its clock (e.g. more than
five minutes) so a captured request cannot be replayed later. Header names are configurable.
Any 2xx acknowledges the event; 400/405/410/413/415/422 mark it dead (the receiver refuses the
content itself), anything else is retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from atalaia.config.sinks import WebhookSink as WebhookSinkConfig
from atalaia.events.types import AlertEvent
from atalaia.redact import mask_url
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.http import check_response, pooled_client, transport_error
from atalaia.sinks.masking import describe_error, secret_values
from atalaia.sinks.registry import register_sink_type

EVENT_ID_HEADER = "X-Atalaia-Event-Id"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSink:
    """POSTs signed JSON events to one URL."""

    def __init__(self, config: WebhookSinkConfig, name: str, context: SinkContext) -> None:
        self.name = name
        self.config = config
        self._secrets = secret_values(config)
        self._client: httpx.AsyncClient | None = None
        self._last_error: str | None = None
        self._ok = True

    async def start(self) -> None:
        if self._client is None:
            self._client = pooled_client(self.config.timeout)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def request_parts(
        self, event: AlertEvent, now: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of the request for `event`."""
        body = json.dumps(event.to_payload(), separators=(",", ":")).encode()
        timestamp = str(int(now if now is not None else time.time()))
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event.id,
            self.config.timestamp_header: timestamp,
        }
        if self.config.secret is not None:
            key = self.config.secret.get_secret_value().encode()
            headers[self.config.signature_header] = sign(key, timestamp, body)
        return body, headers

    async def deliver(self, event: AlertEvent) -> None:
        if self._client is None:
            await self.start()
        assert self._client is not None
        body, headers = self.request_parts(event)
        try:
            try:
                response = await self._client.post(self.config.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                raise transport_error(exc, "webhook POST") from None
            check_response(response, "webhook POST")
        except DeliveryError as exc:
            self._ok = False
            self._last_error = describe_error(exc, self._secrets)
            raise
        self._ok = True
        self._last_error = None

    def health(self) -> dict[str, Any]:
        return {
            "connected": self._ok,
            "url": mask_url(self.config.url),
            "signed": self.config.secret is not None,
            "last_error": self._last_error,
        }


@register_sink_type("webhook")
def _build(config: WebhookSinkConfig, name: str, context: SinkContext) -> WebhookSink:
    return WebhookSink(config, name, context)

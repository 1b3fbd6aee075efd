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
from typing import Any, Literal

from pydantic import SecretStr

from atalaia.config.sinks import HttpUrl, SinkBase
from atalaia.events.types import AlertEvent
from atalaia.sinks.base import SinkContext
from atalaia.sinks.http import HttpSink
from atalaia.sinks.registry import register_sink_type

EVENT_ID_HEADER = "X-Atalaia-Event-Id"


class WebhookSinkConfig(SinkBase):
    type: Literal["webhook"]
    url: HttpUrl
    secret: SecretStr | None = None
    signature_header: str = "X-Atalaia-Signature"
    timestamp_header: str = "X-Atalaia-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@register_sink_type(WebhookSinkConfig)
class WebhookSink(HttpSink[WebhookSinkConfig]):
    """POSTs signed JSON events to one URL."""

    def __init__(self, config: WebhookSinkConfig, name: str, context: SinkContext) -> None:
        super().__init__(config, name, config.url)

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

    async def send(self, event: AlertEvent) -> None:
        body, headers = self.request_parts(event)
        await self.request("POST", self.config.url, "webhook POST", content=body, headers=headers)

    def health_details(self) -> dict[str, Any]:
        return {"signed": self.config.secret is not None}

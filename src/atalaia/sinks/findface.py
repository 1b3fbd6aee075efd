"""The FindFace Multi sink: alert snapshots go to FindFace's edge-device API.

FindFace finds and matches the faces itself, so each picture is the whole frame:
`POST <base_url>/events/faces/add/` as multipart, with the JPEG in `fullframe` and the form
fields `token`, `camera`, `mf_selector` (biggest|all) and `timestamp` (ISO 8601). The field
names are configurable (`fields`), since FindFace versions and edge gateways differ.

Only alerts with a snapshot are sent, once when new and again when the snapshot changes; other
events are acknowledged without a request. Design note 001: one pooled `httpx.AsyncClient` keeps
connections alive between events, bounded by `max_connections`, and is closed on shutdown.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from atalaia.config.sinks import FindfaceSink as FindfaceSinkConfig
from atalaia.events.types import AlertEvent
from atalaia.redact import mask_url
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.http import check_response, pooled_client, transport_error
from atalaia.sinks.masking import describe_error, secret_values
from atalaia.sinks.registry import register_sink_type
from atalaia.sinks.snapshots import read_jpeg

ADD_FACE_EVENT = "/events/faces/add/"


class FindfaceSink:
    """Sends alert snapshots to one FindFace Multi server."""

    def __init__(self, config: FindfaceSinkConfig, name: str, context: SinkContext) -> None:
        self.name = name
        self.config = config
        self._context = context
        self._secrets = secret_values(config)
        self._client: httpx.AsyncClient | None = None
        self._last_error: str | None = None
        self._ok = True
        self.sent = 0
        self.skipped = 0

    @property
    def url(self) -> str:
        return self.config.base_url + ADD_FACE_EVENT

    async def start(self) -> None:
        if self._client is None:
            self._client = pooled_client(self.config.timeout, self.config.max_connections)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def wants(self, event: AlertEvent) -> bool:
        """True for events that carry a picture FindFace has not seen yet."""
        after = event.after
        if not after.snapshot_path or event.type == "end":
            return False
        if self.config.labels is not None and after.label not in self.config.labels:
            return False
        before = event.before.snapshot_path if event.before else None
        return event.type == "new" or after.snapshot_path != before

    def form(self, event: AlertEvent) -> dict[str, str]:
        names = self.config.fields
        camera = self.config.camera.replace("{camera}", event.camera)
        when = event.after.start_time if event.type == "new" else event.created_at
        return {
            names["token"]: self.config.token.get_secret_value(),
            names["camera"]: camera,
            names["mf_selector"]: self.config.mf_selector,
            names["timestamp"]: datetime.fromtimestamp(when, UTC).isoformat(),
        }

    async def deliver(self, event: AlertEvent) -> None:
        if not self.wants(event):
            self.skipped += 1
            return
        assert event.after.snapshot_path is not None
        try:
            jpeg = await asyncio.to_thread(
                read_jpeg, self._context.resolve(event.after.snapshot_path)
            )
            await self._post(event, jpeg)
        except DeliveryError as exc:
            self._ok = False
            self._last_error = describe_error(exc, self._secrets)
            raise
        self._ok = True
        self._last_error = None
        self.sent += 1

    async def _post(self, event: AlertEvent, jpeg: bytes) -> None:
        if self._client is None:
            await self.start()
        assert self._client is not None
        files = {self.config.fields["fullframe"]: (f"{event.id}.jpg", jpeg, "image/jpeg")}
        try:
            response = await self._client.post(self.url, data=self.form(event), files=files)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "FindFace POST") from None
        check_response(response, "FindFace POST")

    def health(self) -> dict[str, Any]:
        return {
            "connected": self._ok,
            "url": mask_url(self.config.base_url),
            "sent": self.sent,
            "skipped": self.skipped,
            "last_error": self._last_error,
        }


@register_sink_type("findface")
def _build(config: FindfaceSinkConfig, name: str, context: SinkContext) -> FindfaceSink:
    return FindfaceSink(config, name, context)

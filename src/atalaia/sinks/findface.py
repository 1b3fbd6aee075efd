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
from typing import Any, Literal

import httpx
from pydantic import Field, SecretStr, field_validator

from atalaia.config.sinks import HttpUrl, SinkBase
from atalaia.events.types import AlertEvent
from atalaia.sinks.base import SinkContext
from atalaia.sinks.http import HttpSink, pooled_client
from atalaia.sinks.registry import register_sink_type
from atalaia.sinks.snapshots import read_jpeg

ADD_FACE_EVENT = "/events/faces/add/"
FINDFACE_FIELDS = ("fullframe", "token", "camera", "mf_selector", "timestamp")


class FindfaceSinkConfig(SinkBase):
    type: Literal["findface"]
    base_url: HttpUrl
    token: SecretStr
    camera: str = Field(description="FindFace camera id; `{camera}` is replaced by ours")
    mf_selector: Literal["biggest", "all"] = "biggest"
    fields: dict[str, str] = {
        "fullframe": "fullframe",
        "token": "token",
        "camera": "camera",
        "mf_selector": "mf_selector",
        "timestamp": "timestamp",
    }
    max_connections: int = Field(10, ge=1, le=1000)
    labels: list[str] | None = Field(
        None, description="labels whose alerts are sent; unset: every alert with a snapshot"
    )

    @field_validator("fields")
    @classmethod
    def _all_fields_named(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = set(fields) - set(FINDFACE_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown FindFace field(s) {sorted(unknown)}; "
                f"expected any of: {', '.join(FINDFACE_FIELDS)}"
            )
        return {**dict(zip(FINDFACE_FIELDS, FINDFACE_FIELDS, strict=True)), **fields}


@register_sink_type(FindfaceSinkConfig)
class FindfaceSink(HttpSink[FindfaceSinkConfig]):
    """Sends alert snapshots to one FindFace Multi server."""

    def __init__(self, config: FindfaceSinkConfig, name: str, context: SinkContext) -> None:
        super().__init__(config, name, config.base_url)
        self._context = context
        self.sent = 0
        self.skipped = 0

    @property
    def url(self) -> str:
        return self.config.base_url + ADD_FACE_EVENT

    def new_client(self) -> httpx.AsyncClient:
        return pooled_client(self.config.timeout, self.config.max_connections)

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
        await super().deliver(event)
        self.sent += 1

    async def send(self, event: AlertEvent) -> None:
        assert event.after.snapshot_path is not None
        jpeg = await asyncio.to_thread(read_jpeg, self._context.resolve(event.after.snapshot_path))
        files = {self.config.fields["fullframe"]: (f"{event.id}.jpg", jpeg, "image/jpeg")}
        await self.request("POST", self.url, "FindFace POST", data=self.form(event), files=files)

    def health_details(self) -> dict[str, Any]:
        return {"sent": self.sent, "skipped": self.skipped}

"""The Frigate sink: our alerts become Frigate events, so they show on its timeline.

A `new` alert is `POST /api/events/<camera>/<label>/create` with a JSON body
(`sub_label`, `score`, `duration`, `include_recording`); Frigate answers with its event id,
which is stored (table `sink_refs`) so that the alert's `end` can `PUT /api/events/<id>/end`
later, after a restart too. With a fixed `duration` configured, Frigate ends the event itself
and no end call is made. `update` events have no Frigate counterpart and are acknowledged.

At least once: a create whose answer is lost is sent again and Frigate holds two events; a
create whose id was stored is never repeated.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr

from atalaia.config.sinks import HttpUrl, SinkBase
from atalaia.events.types import AlertEvent
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.http import HttpSink, pooled_client
from atalaia.sinks.registry import register_sink_type
from atalaia.sinks.templates import render


class FrigateSinkConfig(SinkBase):
    type: Literal["frigate"]
    base_url: HttpUrl = "http://127.0.0.1:5000"
    username: str | None = None
    password: SecretStr | None = None
    bearer_token: SecretStr | None = None
    include_recording: bool = True
    duration: int | None = Field(
        None, ge=1, le=86400, description="unset: the Frigate event ends when our alert ends"
    )
    sub_label: str | None = Field(
        "{rule}", description="template; fields: camera, label, type, rule, rule_type, zone"
    )
    cameras: dict[str, str] = Field(
        {}, description="our camera id -> Frigate's camera name, where they differ"
    )


@register_sink_type(FrigateSinkConfig)
class FrigateSink(HttpSink[FrigateSinkConfig]):
    """Creates and ends Frigate events through Frigate's HTTP API."""

    def __init__(self, config: FrigateSinkConfig, name: str, context: SinkContext) -> None:
        super().__init__(config, name, config.base_url)
        self._database = context.database

    def new_client(self) -> httpx.AsyncClient:
        c = self.config
        if c.bearer_token is not None:
            bearer = {"Authorization": f"Bearer {c.bearer_token.get_secret_value()}"}
            return pooled_client(c.timeout, headers=bearer)
        if c.username is not None:
            password = c.password.get_secret_value() if c.password else ""
            return pooled_client(c.timeout, auth=httpx.BasicAuth(c.username, password))
        return pooled_client(c.timeout)

    def frigate_camera(self, camera: str) -> str:
        return self.config.cameras.get(camera, camera)

    async def send(self, event: AlertEvent) -> None:
        if event.type == "new":
            await self._create(event, self.config.duration)
        elif event.type == "end" and self.config.duration is None:
            await self._end(event)

    async def _create(self, event: AlertEvent, duration: int | None) -> str:
        """The Frigate id of the alert's event, creating the event unless it exists."""
        alert = event.after
        known = await asyncio.to_thread(self._load, alert.id)
        if known is not None:
            return known
        camera, label = quote(self.frigate_camera(alert.camera), safe=""), quote(alert.label, "")
        body: dict[str, Any] = {
            "source_type": "api",
            "sub_label": render(self.config.sub_label, event) if self.config.sub_label else None,
            "score": round(alert.top_score, 4),
            "duration": duration,
            "include_recording": self.config.include_recording,
        }
        response = await self._request("POST", f"/api/events/{camera}/{label}/create", body)
        try:
            answer = response.json()
            frigate_id = str(answer["event_id"])
        except (ValueError, KeyError, TypeError):
            raise DeliveryError("Frigate create: the answer holds no event_id") from None
        if answer.get("success") is False:
            raise DeliveryError(f"Frigate create refused: {answer.get('message', '')}"[:300])
        await asyncio.to_thread(self._save, alert.id, frigate_id)
        return frigate_id

    async def _end(self, event: AlertEvent) -> None:
        alert = event.after
        end_time = alert.end_time or event.created_at
        frigate_id = await asyncio.to_thread(self._load, alert.id)
        if frigate_id is None:
            # The create never went through (dead and not retried, or the sink was added
            # later): send the alert as a finished event of the right length instead.
            seconds = max(1, math.ceil((end_time or alert.start_time) - alert.start_time))
            await self._create(event, seconds)
            return
        body = {"end_time": end_time} if end_time else {}
        await self._request("PUT", f"/api/events/{quote(frigate_id, safe='')}/end", body)

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        what = f"Frigate {method} {path}"
        return await self.request(method, self.config.base_url + path, what, json=body)

    def _load(self, alert_id: str) -> str | None:
        from atalaia.sinks.refs import load_ref  # SQLAlchemy: not at config-loading time

        with self._database.session() as session:
            return load_ref(session, self.name, alert_id)

    def _save(self, alert_id: str, frigate_id: str) -> None:
        from atalaia.sinks.refs import save_ref

        with self._database.session() as session:
            save_ref(session, self.name, alert_id, frigate_id)

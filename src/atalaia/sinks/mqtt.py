"""The MQTT sink: Frigate-shaped topics, QoS 1, a last will, and Home Assistant discovery.

An event counts as delivered only once the broker acknowledged every message it caused
(PUBACK at QoS 1), so a broker that vanishes mid-event means a retry, never a silent loss;
consumers drop the resulting duplicates by the event's `id`. The connection is made lazily and
made again after any failure; the dispatcher's backoff paces the attempts. The availability
topic is retained: `online` after each connect, `offline` on a clean close, and `offline` as the
last will, which the broker publishes when the connection dies without a goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from typing import Any, Literal

import aiomqtt
from pydantic import Field, SecretStr, field_validator

from atalaia.config.sinks import SinkBase
from atalaia.events.types import AlertEvent
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.masking import describe_error, secret_values
from atalaia.sinks.mqtt_topics import MqttTopics
from atalaia.sinks.registry import register_sink_type
from atalaia.sinks.snapshots import read_jpeg

log = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"


class MqttSinkConfig(SinkBase):
    type: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    client_id: str | None = None
    prefix: str = "atalaia"
    qos: Literal[0, 1, 2] = 1
    keepalive: int = Field(30, ge=5, le=3600)
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    snapshots: bool = True

    @field_validator("prefix", "discovery_prefix")
    @classmethod
    def _topic_prefix(cls, prefix: str) -> str:
        prefix = prefix.strip("/")
        if not prefix or any(c in prefix for c in "+#"):
            raise ValueError("expected a non-empty MQTT topic prefix without wildcards")
        return prefix


@register_sink_type(MqttSinkConfig)
class MqttSink:
    """Publishes alert events to one MQTT broker."""

    def __init__(self, config: MqttSinkConfig, name: str, context: SinkContext) -> None:
        self.name = name
        self.config = config
        self.topics = MqttTopics(config.prefix, config.discovery_prefix)
        self._context = context
        self._secrets = secret_values(config)
        self._client: aiomqtt.Client | None = None
        self._connecting = asyncio.Lock()
        # One event at a time: the dispatcher sends to several cameras at once, but a broker
        # with Nagle's algorithm on (Mosquitto's default) holds each PUBACK while an earlier
        # one awaits our delayed ACK, ~40 ms a round; in sequence an event takes ~1 ms.
        self._sending = asyncio.Lock()
        self._announced: set[tuple[str, str | None]] = set()
        self._last_error: str | None = None
        self._connects = 0

    # -- connection ---------------------------------------------------------------------

    def _new_client(self) -> aiomqtt.Client:
        c = self.config
        return aiomqtt.Client(
            c.host,
            c.port,
            username=c.username,
            password=c.password.get_secret_value() if c.password else None,
            identifier=c.client_id,
            will=aiomqtt.Will(self.topics.available, OFFLINE, qos=1, retain=True),
            timeout=c.timeout,
            keepalive=c.keepalive,
            tls_context=ssl.create_default_context() if c.tls else None,
            # Deliveries to several cameras publish concurrently; with Nagle's algorithm on,
            # each second small packet waits for the broker's delayed ACK (~40 ms).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    async def _connected(self) -> aiomqtt.Client:
        async with self._connecting:
            if self._client is not None:
                return self._client
            client = self._new_client()
            try:
                await asyncio.wait_for(client.__aenter__(), self.config.timeout)
                await client.publish(
                    self.topics.available, ONLINE, qos=1, retain=True, timeout=self.config.timeout
                )
            except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
                await _abandon(client)
                raise self._error("cannot connect to the MQTT broker", exc) from None
            self._client = client
            self._connects += 1
            # A broker restarted without persistence forgets retained discovery documents.
            self._announced.clear()
            log.info(
                "MQTT sink %s connected to %s:%d", self.name, self.config.host, self.config.port
            )
            return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _abandon(client)

    def _error(self, what: str, exc: BaseException) -> DeliveryError:
        message = f"{what}: {describe_error(exc, self._secrets)}"
        self._last_error = message
        return DeliveryError(message)

    async def start(self) -> None:
        try:
            client = await self._connected()
            if self.config.discovery:
                for camera, labels in self._context.cameras.items():
                    for label in [None, *labels]:
                        await self._announce(client, camera, label)
        except DeliveryError as exc:
            await self._drop()
            log.warning("MQTT sink %s not connected yet: %s", self.name, exc)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        # If this fails the broker publishes the last will, which says the same.
        with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError):
            await client.publish(
                self.topics.available, OFFLINE, qos=1, retain=True, timeout=self.config.timeout
            )
        await _abandon(client)

    async def probe(self) -> None:
        """Connect (publishing `online`), or keep a connection that is still up: the
        dispatcher's check, while deliveries back off, that the broker is back. The drain that
        follows then uses this connection."""
        client = self._client
        if client is not None and _connection_lost(client):
            await self._drop()
        await self._connected()

    # -- delivery -----------------------------------------------------------------------

    async def deliver(self, event: AlertEvent) -> None:
        client = await self._connected()
        try:
            async with self._sending:
                await self._publish_event(client, event)
        except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
            await self._drop()
            raise self._error("MQTT publish failed", exc) from None
        self._last_error = None

    async def _publish(
        self, client: aiomqtt.Client, topic: str, payload: str | bytes, *, retain: bool = False
    ) -> None:
        await client.publish(
            topic, payload, qos=self.config.qos, retain=retain, timeout=self.config.timeout
        )

    async def _publish_event(self, client: aiomqtt.Client, event: AlertEvent) -> None:
        after = event.after
        if self.config.discovery:
            await self._announce(client, after.camera, None)
            await self._announce(client, after.camera, after.label)
        await self._publish(client, self.topics.events, json.dumps(event.to_payload()))
        counts = await asyncio.to_thread(self._active_by_label, after.camera)
        await self._publish(
            client,
            self.topics.count(after.camera, after.label),
            str(counts.get(after.label, 0)),
            retain=True,
        )
        motion = "ON" if any(counts.values()) else "OFF"
        await self._publish(client, self.topics.motion(after.camera), motion, retain=True)
        snapshot = after.snapshot_path
        before = event.before.snapshot_path if event.before else None
        if self.config.snapshots and snapshot and (event.type == "new" or snapshot != before):
            jpeg = await asyncio.to_thread(read_jpeg, self._context.resolve(snapshot))
            await self._publish(
                client, self.topics.snapshot(after.camera, after.label), jpeg, retain=True
            )

    def _active_by_label(self, camera: str) -> dict[str, int]:
        # SQLAlchemy, imported here: configuration loads this module for its config model.
        from atalaia.sinks.alert_counts import active_by_label

        with self._context.database.session() as session:
            return active_by_label(session, camera)

    async def _announce(self, client: aiomqtt.Client, camera: str, label: str | None) -> None:
        """Publish the retained discovery documents of a camera (label None) or a label once
        per connection."""
        if (camera, label) in self._announced:
            return
        documents = (
            self.topics.camera_discovery(camera)
            if label is None
            else self.topics.label_discovery(camera, label)
        )
        for topic, document in documents:
            await client.publish(
                topic, json.dumps(document), qos=1, retain=True, timeout=self.config.timeout
            )
        self._announced.add((camera, label))

    def health(self) -> dict[str, Any]:
        return {
            "connected": self._client is not None,
            "broker": f"{self.config.host}:{self.config.port}",
            "connects": self._connects,
            "last_error": self._last_error,
        }


def _connection_lost(client: aiomqtt.Client) -> bool:
    """True once the client's connection has ended (aiomqtt resolves this future then)."""
    disconnected = getattr(client, "_disconnected", None)
    return isinstance(disconnected, asyncio.Future) and disconnected.done()


async def _abandon(client: aiomqtt.Client) -> None:
    """Close a client whatever state it is in, without waiting long on a dead broker."""
    # A connection that died holds its error in a future nobody awaits; read it, so asyncio
    # does not report "exception was never retrieved" when the client is collected.
    disconnected = getattr(client, "_disconnected", None)
    if (
        isinstance(disconnected, asyncio.Future)
        and disconnected.done()
        and not disconnected.cancelled()
    ):
        disconnected.exception()
    with contextlib.suppress(aiomqtt.MqttError, OSError, TimeoutError, RuntimeError):
        await asyncio.wait_for(client.__aexit__(None, None, None), 2.0)

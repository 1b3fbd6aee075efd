"""The AMQP sink (RabbitMQ): a durable topic exchange, persistent messages, publisher confirms.

An event counts as delivered only when the broker confirmed the message (Basic.Ack), which
RabbitMQ sends for a persistent message once every queue it was routed to has it on disk. Each
message carries the event id as `message_id`, so consumers can drop redelivered duplicates.
The routing key defaults to `<camera>.<label>.<type>` (e.g. `gate.person.new`), so a consumer
binds `gate.#` or `*.person.*`. A lost connection is opened again on the next delivery; the
dispatcher's backoff paces the attempts.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from pydantic import Field, SecretStr, field_validator

from atalaia.config.sinks import ROUTING_KEY_FIELDS, SinkBase
from atalaia.events.types import AlertEvent
from atalaia.redact import mask_url
from atalaia.sinks.base import DeliveryError, SinkContext
from atalaia.sinks.masking import describe_error, secret_values
from atalaia.sinks.registry import register_sink_type
from atalaia.sinks.templates import render

log = logging.getLogger(__name__)


class AmqpSinkConfig(SinkBase):
    type: Literal["amqp"]
    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    exchange: str = "atalaia"
    routing_key: str = Field(
        "{camera}.{label}.{type}",
        description="template; fields: camera, label, type, rule, rule_type, zone",
    )
    mandatory: bool = Field(
        False, description="fail (and retry) while no queue is bound for the routing key"
    )

    @field_validator("routing_key")
    @classmethod
    def _known_fields(cls, template: str) -> str:
        sample = dict.fromkeys(ROUTING_KEY_FIELDS, "x")
        try:
            template.format(**sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"unknown or malformed field in routing key template ({exc}); "
                f"expected any of: {', '.join(ROUTING_KEY_FIELDS)}"
            ) from None
        return template


@register_sink_type(AmqpSinkConfig)
class AmqpSink:
    """Publishes alert events to one exchange of one AMQP broker."""

    def __init__(self, config: AmqpSinkConfig, name: str, context: SinkContext) -> None:
        self.name = name
        self.config = config
        self._secrets = secret_values(config)
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._connecting = asyncio.Lock()
        self._last_error: str | None = None
        self._connects = 0

    @property
    def masked_url(self) -> str:
        return mask_url(self.config.url.get_secret_value())

    async def _ready(self) -> AbstractExchange:
        async with self._connecting:
            if (
                self._exchange is not None
                and self._connection is not None
                and not self._connection.is_closed
                and self._channel is not None
                and not self._channel.is_closed
            ):
                return self._exchange
            await self._drop()
            timeout = self.config.timeout
            try:
                connection = await asyncio.wait_for(
                    aio_pika.connect(self.config.url.get_secret_value(), timeout=timeout), timeout
                )
            except Exception as exc:
                raise self._error("cannot connect to the AMQP broker", exc) from None
            self._connection = connection
            try:
                channel = await connection.channel(
                    publisher_confirms=True, on_return_raises=self.config.mandatory
                )
                exchange = await channel.declare_exchange(
                    self.config.exchange, aio_pika.ExchangeType.TOPIC, durable=True, timeout=timeout
                )
            except Exception as exc:
                await self._drop()
                raise self._error("cannot open the AMQP channel or exchange", exc) from None
            self._channel, self._exchange = channel, exchange
            self._connects += 1
            log.info("AMQP sink %s connected to %s", self.name, self.masked_url)
            return exchange

    async def _drop(self) -> None:
        connection = self._connection
        self._connection = self._channel = self._exchange = None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), 2.0)
            except Exception:
                log.debug("AMQP sink %s: closing a broken connection failed", self.name)

    def _error(self, what: str, exc: BaseException) -> DeliveryError:
        message = f"{what}: {describe_error(exc, self._secrets)}"
        self._last_error = message
        return DeliveryError(message)

    def routing_key(self, event: AlertEvent) -> str:
        return render(self.config.routing_key, event)

    async def start(self) -> None:
        try:
            await self._ready()
        except DeliveryError as exc:
            log.warning("AMQP sink %s not connected yet: %s", self.name, exc)

    async def probe(self) -> None:
        """Open the connection, channel and exchange (or find them open): the dispatcher's
        check, while deliveries back off, that the broker is back."""
        await self._ready()

    async def deliver(self, event: AlertEvent) -> None:
        exchange = await self._ready()
        message = aio_pika.Message(
            json.dumps(event.to_payload()).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.id,
            timestamp=event.created_at or None,
            type=f"alert.{event.type}",
            app_id="atalaia",
            headers={
                "camera": event.camera,
                "label": event.after.label,
                "alert_id": event.after.id,
            },
        )
        try:
            await exchange.publish(
                message,
                routing_key=self.routing_key(event),
                mandatory=self.config.mandatory,
                timeout=self.config.timeout,
            )
        except Exception as exc:
            await self._drop()
            raise self._error("AMQP publish was not confirmed", exc) from None
        self._last_error = None

    async def close(self) -> None:
        await self._drop()

    def health(self) -> dict[str, Any]:
        connection = self._connection
        return {
            "connected": connection is not None and not connection.is_closed,
            "broker": self.masked_url,
            "exchange": self.config.exchange,
            "connects": self._connects,
            "last_error": self._last_error,
        }

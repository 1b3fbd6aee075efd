"""Where alerts are delivered. Each sink is a plugin chosen by its `type`; every delivery goes
through the durable outbox, so the retry settings live here, next to the sink they govern.

A sink plugin is one module holding its config model (a `SinkBase` with `type: Literal[...]`)
and its implementation, registered together in `SINK_PLUGINS` (`atalaia.plugins`). The
`sinks:` list accepts any registered type: the built-ins, imported when a configuration first
names them, and whatever a deployment registered with `atalaia.sinks.register_sink_type`
before loading its configuration. The built-in config models are still importable from here
under their old names (`MqttSink`, `WebhookSink`...), loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field

from atalaia.config.base import StrictModel
from atalaia.plugins import PluginRegistry

if TYPE_CHECKING:
    from atalaia.sinks.amqp import AmqpSinkConfig as AmqpSink
    from atalaia.sinks.base import SinkFactory
    from atalaia.sinks.database import DatabaseSinkConfig as DatabaseSink
    from atalaia.sinks.findface import FINDFACE_FIELDS
    from atalaia.sinks.findface import FindfaceSinkConfig as FindfaceSink
    from atalaia.sinks.frigate import FrigateSinkConfig as FrigateSink
    from atalaia.sinks.mqtt import MqttSinkConfig as MqttSink
    from atalaia.sinks.webhook import WebhookSinkConfig as WebhookSink


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return url.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]
# What a routing key or sub-label template may name.
ROUTING_KEY_FIELDS = ("camera", "label", "type", "rule", "rule_type", "zone")


class SinkBase(StrictModel):
    """Delivery policy shared by all sinks: retried with capped exponential backoff, then dead."""

    type: str = Field(description="which sink plugin; each narrows this to its own name")
    name: str | None = Field(None, description="unique sink name; defaults to the type")
    enabled: bool = True
    max_attempts: int = Field(20, ge=1, le=10000)
    backoff_initial: float = Field(1.0, gt=0, le=3600)
    backoff_max: float = Field(300.0, gt=0, le=86400)
    timeout: float = Field(10.0, gt=0, le=300)


SINK_PLUGINS: PluginRegistry[SinkBase, SinkFactory] = PluginRegistry(
    "sink",
    SinkBase,
    # Imported when a configuration first names them, so that e.g. a service without
    # RabbitMQ never imports aio-pika.
    builtins={
        "database": "atalaia.sinks.database",
        "mqtt": "atalaia.sinks.mqtt",
        "amqp": "atalaia.sinks.amqp",
        "frigate": "atalaia.sinks.frigate",
        "findface": "atalaia.sinks.findface",
        "webhook": "atalaia.sinks.webhook",
    },
)

SinkConfig = Annotated[SinkBase, SINK_PLUGINS.union()]
"""Any registered sink's config, chosen by `type` when validated."""


def database_sink() -> SinkBase:
    """The database sink's config with its defaults: every configuration has one."""
    return SINK_PLUGINS.config_model("database")(type="database")


__all__ = [
    "FINDFACE_FIELDS",
    "ROUTING_KEY_FIELDS",
    "SINK_PLUGINS",
    "AmqpSink",
    "DatabaseSink",
    "FindfaceSink",
    "FrigateSink",
    "HttpUrl",
    "MqttSink",
    "OutboxConfig",
    "SinkBase",
    "SinkConfig",
    "WebhookSink",
    "database_sink",
]


class OutboxConfig(StrictModel):
    """How the main process works through the outbox: every sink has its own dispatcher.

    A new alert wakes the dispatchers at once; `poll_interval` only bounds how late a retry,
    a restart's leftovers or another node's work is picked up.
    """

    poll_interval: float = Field(1.0, gt=0, le=60)
    batch_size: int = Field(100, ge=1, le=10000)
    lease: float = Field(
        60.0, gt=0, le=3600, description="a claim older than this is taken again (crashed node)"
    )
    trim_after: float = Field(7 * 86400.0, gt=0, description="delivered rows kept this long (s)")
    trim_interval: float = Field(3600.0, gt=0, le=86400)
    stats_interval: float = Field(5.0, gt=0, le=3600, description="pending/dead counts refresh")
    probe_interval: float = Field(
        2.0, gt=0, le=300, description="while deliveries back off, how often the sink is probed (s)"
    )


# Names other modules import from here, now defined by the sink plugins themselves.
_MOVED = {
    "DatabaseSink": ("atalaia.sinks.database", "DatabaseSinkConfig"),
    "MqttSink": ("atalaia.sinks.mqtt", "MqttSinkConfig"),
    "AmqpSink": ("atalaia.sinks.amqp", "AmqpSinkConfig"),
    "FrigateSink": ("atalaia.sinks.frigate", "FrigateSinkConfig"),
    "FindfaceSink": ("atalaia.sinks.findface", "FindfaceSinkConfig"),
    "FINDFACE_FIELDS": ("atalaia.sinks.findface", "FINDFACE_FIELDS"),
    "WebhookSink": ("atalaia.sinks.webhook", "WebhookSinkConfig"),
}


def __getattr__(name: str) -> object:
    """Load a moved name from its plugin module on first use (PEP 562), so importing the
    configuration does not import every sink's client library."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MOVED[name]
    return getattr(importlib.import_module(module), attribute)

"""Sink plugins by `type`: the same string that discriminates the sink's config.

The built-in sinks register themselves when this module is first used; a deployment can add
its own type with `register_sink_type` before the service starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from atalaia.config.sinks import SinkBase
from atalaia.sinks.base import Sink, SinkContext

SinkFactory = Callable[[Any, str, SinkContext], Sink]

_FACTORIES: dict[str, SinkFactory] = {}
# Imported lazily so that, e.g., a service without RabbitMQ never imports aio-pika.
_BUILTIN_MODULES = {
    "database": "atalaia.sinks.database",
    "mqtt": "atalaia.sinks.mqtt",
    "amqp": "atalaia.sinks.amqp",
    "frigate": "atalaia.sinks.frigate",
    "findface": "atalaia.sinks.findface",
    "webhook": "atalaia.sinks.webhook",
}


def register_sink_type(type_name: str) -> Callable[[SinkFactory], SinkFactory]:
    """Register a factory `(config, name, context) -> Sink` for sink configs of `type_name`."""

    def register(factory: SinkFactory) -> SinkFactory:
        _FACTORIES[type_name] = factory
        return factory

    return register


def sink_types() -> list[str]:
    """Every type a config may name: the built-ins and any registered since."""
    return sorted({*_BUILTIN_MODULES, *_FACTORIES})


def build_sink(config: SinkBase, name: str, context: SinkContext) -> Sink:
    """The sink for one entry of `sinks:`; `name` is its unique name in the configuration."""
    type_name: str = getattr(config, "type", "")
    if type_name not in _FACTORIES and type_name in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[type_name])
    factory = _FACTORIES.get(type_name)
    if factory is None:
        raise ValueError(
            f"unknown sink type {type_name!r}; expected one of: {', '.join(sink_types())}"
        )
    return factory(config, name, context)

"""Where alert events go: one `Sink` per configured destination, each built from its config.

Sinks never see an event that is not yet durable: the outbox dispatcher hands them events read
back from the database and records whether each one was acknowledged.
"""

from atalaia.sinks.base import DeliveryError, PermanentDeliveryError, Sink, SinkContext
from atalaia.sinks.registry import build_sink, register_sink_type, sink_types

__all__ = [
    "DeliveryError",
    "PermanentDeliveryError",
    "Sink",
    "SinkContext",
    "build_sink",
    "register_sink_type",
    "sink_types",
]

"""The contract between the outbox dispatcher and a sink.

A sink is small on purpose: `deliver` either returns (the destination acknowledged the event:
an MQTT PUBACK, a broker confirm, a 2xx) or raises. Retries, backoff, ordering, timeouts around
the whole call and bookkeeping all live in the dispatcher, so each sink is only about talking
to its destination.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from atalaia.events.types import AlertEvent

if TYPE_CHECKING:
    # Only a type here: a sink module is imported to validate configuration (its config model
    # lives there), which must not cost SQLAlchemy's import.
    from atalaia.storage.db import Database


class DeliveryError(RuntimeError):
    """The destination did not acknowledge the event; the dispatcher retries it later.

    The message is shown in status pages (masked), so it should say what went wrong in the
    destination's words, never quote a password or token.
    """


class PermanentDeliveryError(DeliveryError):
    """The destination rejected the event itself (e.g. HTTP 400): retrying cannot help.

    The delivery is marked dead at once, visible and retryable by hand, instead of holding its
    camera's later events back through every retry.
    """


@dataclass(frozen=True, slots=True)
class SinkContext:
    """What sinks may need from the service beyond their own config.

    `cameras` maps each camera id to the labels its rules watch, so a sink that announces
    entities up front (Home Assistant discovery) knows them before the first alert.
    """

    database: Database
    data_dir: Path = Path("data")
    cameras: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def resolve(self, path: str) -> Path:
        """A snapshot or clip path from an alert: relative ones live under the data dir."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.data_dir / candidate


@runtime_checkable
class Sink(Protocol):
    """One destination for alert events."""

    name: str

    async def start(self) -> None:
        """Prepare to deliver (open pools, connect). Must not raise because the destination is
        down: that is `deliver`'s to report, so a sink that is down at start-up still retries."""

    async def deliver(self, event: AlertEvent) -> None:
        """Send one event and return once the destination acknowledged it; raise otherwise."""

    async def close(self) -> None:
        """Release connections; called once at shutdown, after the last `deliver`."""

    def health(self) -> dict[str, Any]:
        """A small, secret-free view for status pages: at least `{"connected": bool}`."""


SinkFactory = Callable[[Any, str, SinkContext], Sink]
"""What a sink plugin registers: `(its config, its unique name, context) -> Sink`; usually the
sink class itself."""


@runtime_checkable
class ProbingSink(Protocol):
    """A sink with its own check that its destination answers (see `atalaia.sinks.probe`).

    Optional: sinks without one are probed by a TCP connect to their configured host.
    """

    async def probe(self) -> None:
        """Return once the destination answers (e.g. a connection is open); raise otherwise.
        Called by the dispatcher while deliveries wait out a backoff, never during `start()`."""

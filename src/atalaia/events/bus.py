"""The in-process event bus: publish/subscribe by topic, each handler isolated from the others.

Design note 002 runs its handlers in parallel and isolated; here every subscription has its own
bounded queue and its own asyncio task, so a handler that raises is counted and logged and the
next message goes on, and a handler that is slow fills only its own queue. A publisher never
waits: when a subscriber's queue is full the message is dropped for that subscriber alone and
counted (`dropped`), which suits what travels here: camera online/offline and system events,
whose next message supersedes the last.

Alerts are different: none may be lost, so they never take a lossy path. `publish_alert`
writes the alert event to the durable outbox first (the recorder given to the bus) and then
wakes the sink dispatchers; the sinks, each with its own dispatcher, are the alert subscribers
(design note 002's Database, MQTT, AMQP and Frigate handlers). Subscribing to an alert topic on the
bus is refused with that explanation rather than offered with a guarantee it cannot keep; code
that must see every alert registers a sink type (`atalaia.sinks.register_sink_type`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from atalaia.events.topics import ALERT_TOPICS, ALL_TOPICS, alert_topic
from atalaia.events.types import AlertEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One event on the bus. `data` is whatever the topic's publisher documents (a dict for
    camera status: `{"camera": ..., "reason": ...}`)."""

    topic: str
    data: Any = None
    camera: str | None = None
    at: float = field(default_factory=time.time)


Handler = Callable[[BusMessage], Awaitable[None]]
AlertRecorder = Callable[[AlertEvent], Awaitable[None]]


@dataclass(slots=True)
class SubscriptionStats:
    received: int = 0
    handled: int = 0
    failed: int = 0
    timed_out: int = 0
    dropped: int = 0
    last_error: str | None = None


class Subscription:
    """One handler with its queue and task; created by `EventBus.subscribe`."""

    def __init__(
        self, name: str, handler: Handler, topics: frozenset[str], queue_size: int, timeout: float
    ) -> None:
        self.name = name
        self.topics = topics
        self.stats = SubscriptionStats()
        self._handler = handler
        self._timeout = timeout
        self._queue: asyncio.Queue[BusMessage] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None

    def offer(self, message: BusMessage) -> bool:
        """Queue `message` without waiting; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.stats.dropped += 1
            return False
        self.stats.received += 1
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"bus:{self.name}")

    async def stop(self, timeout: float) -> None:
        """Let the handler finish what is queued, up to `timeout` seconds, then cancel it."""
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            log.warning("bus handler %s left %d message(s)", self.name, self._queue.qsize())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                await asyncio.wait_for(self._handler(message), self._timeout)
                self.stats.handled += 1
            except TimeoutError:
                self.stats.timed_out += 1
                self.stats.last_error = f"timed out after {self._timeout:g}s on {message.topic}"
                log.warning("bus handler %s %s", self.name, self.stats.last_error)
            except Exception as exc:
                self.stats.failed += 1
                self.stats.last_error = f"{type(exc).__name__} on {message.topic}"
                log.exception("bus handler %s failed on %s", self.name, message.topic)
            finally:
                self._queue.task_done()

    def status(self) -> dict[str, Any]:
        s = self.stats
        return {
            "topics": sorted(self.topics),
            "queued": self._queue.qsize(),
            "capacity": self._queue.maxsize,
            "received": s.received,
            "handled": s.handled,
            "failed": s.failed,
            "timed_out": s.timed_out,
            "dropped": s.dropped,
            "last_error": s.last_error,
        }


class EventBus:
    """Topic-based publish/subscribe for the main process's event loop.

    `recorder` makes `publish_alert` durable (it writes the event to the outbox); `on_alert`
    is then called, typically `OutboxService.wake`.
    """

    def __init__(
        self,
        *,
        recorder: AlertRecorder | None = None,
        on_alert: Callable[[AlertEvent], None] | None = None,
        default_queue_size: int = 1000,
        default_timeout: float = 30.0,
    ) -> None:
        self._recorder = recorder
        self._on_alert = on_alert
        self._default_queue_size = default_queue_size
        self._default_timeout = default_timeout
        self._subscriptions: dict[str, Subscription] = {}
        self._started = False
        self.published = 0
        self.unrouted = 0
        self.alerts_recorded = 0

    def subscribe(
        self,
        name: str,
        handler: Handler,
        topics: Iterable[str],
        *,
        queue_size: int | None = None,
        timeout: float | None = None,
    ) -> Subscription:
        """Run `handler` for every message on `topics`, in its own task with its own queue.

        `timeout` bounds one call of the handler; a call that takes longer is cancelled and
        counted, so a stuck handler cannot stop its own queue for good either.
        """
        wanted = frozenset(topics)
        unknown = wanted - ALL_TOPICS
        if unknown:
            raise ValueError(f"unknown topic(s) {sorted(unknown)}; expected {sorted(ALL_TOPICS)}")
        if wanted & ALERT_TOPICS:
            raise ValueError(
                "alert topics are delivered by sinks through the durable outbox, never by a "
                "lossy in-memory queue; register a sink type for code that must see every alert"
            )
        if name in self._subscriptions:
            raise ValueError(f"a bus handler named {name!r} is already subscribed")
        size = queue_size or self._default_queue_size
        subscription = Subscription(name, handler, wanted, size, timeout or self._default_timeout)
        self._subscriptions[name] = subscription
        if self._started:
            subscription.start()
        return subscription

    async def unsubscribe(self, name: str, timeout: float = 5.0) -> None:
        subscription = self._subscriptions.pop(name, None)
        if subscription is not None:
            await subscription.stop(timeout)

    def start(self) -> None:
        """Start every handler's task (call from the running event loop)."""
        self._started = True
        for subscription in self._subscriptions.values():
            subscription.start()

    async def stop(self, timeout: float = 5.0) -> None:
        """Give handlers `timeout` seconds between them to drain their queues, then stop."""
        self._started = False
        await asyncio.gather(*(s.stop(timeout) for s in self._subscriptions.values()))

    def publish(self, topic: str, data: Any = None, *, camera: str | None = None) -> int:
        """Offer a message to every subscriber of `topic` without waiting; returns how many
        queued it (the others are full and counted it as dropped)."""
        if topic in ALERT_TOPICS:
            raise ValueError("alerts go through publish_alert, which makes them durable first")
        if topic not in ALL_TOPICS:
            raise ValueError(f"unknown topic {topic!r}; expected one of {sorted(ALL_TOPICS)}")
        message = BusMessage(topic, data, camera)
        self.published += 1
        queued = 0
        matched = False
        for subscription in self._subscriptions.values():
            if topic in subscription.topics:
                matched = True
                queued += subscription.offer(message)
        if not matched:
            self.unrouted += 1
        return queued

    async def publish_alert(self, event: AlertEvent) -> None:
        """Make `event` durable in the outbox and wake the sinks; returns once it is committed.

        Raises whatever the recorder raises (e.g. the database is down): the caller still has
        the event and must not consider it published.
        """
        alert_topic(event.type)  # refuse an unknown type before writing anything
        if self._recorder is None:
            raise RuntimeError("this bus has no outbox recorder; alerts cannot be published")
        await self._recorder(event)
        self.alerts_recorded += 1
        if self._on_alert is not None:
            self._on_alert(event)

    def status(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "unrouted": self.unrouted,
            "alerts_recorded": self.alerts_recorded,
            "handlers": {name: s.status() for name, s in self._subscriptions.items()},
        }

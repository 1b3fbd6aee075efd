"""A sink that recovers drains at once instead of waiting out its backoff.

After a long outage a sink's deliveries can be scheduled minutes ahead (`backoff_max`, 300 s by
default), so without help a broker that came back would sit idle that long. While a sink has
deliveries backed off, its `RecoveryProbe` checks the destination every `interval` seconds
(`atalaia.sinks.probe`: MQTT/AMQP connect, other sinks a TCP connect) and, when it answers after
it was seen down, makes those deliveries due now and wakes the dispatcher, which sends them in
order as usual. Attempt counts and dead rows are left alone: only the schedule moves.

Why "after it was seen down" and not "whenever it answers": a destination that accepts
connections but refuses the events (an HTTP 500, a wrong topic permission) would otherwise be
retried every few seconds, defeating the backoff that protects it. A failed probe arms the
drain; one drain disarms it until the next failed probe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_PROBE_INTERVAL = 2.0


class RecoveryProbe:
    """One sink's probe loop. `run()` is its task; `backed_off()` says a delivery failed and
    waits for a retry (call it from the event loop); `status()` is secret-free."""

    def __init__(
        self,
        name: str,
        *,
        probe: Callable[[], Awaitable[None]],
        count_backed_off: Callable[[], Awaitable[int]],
        make_due: Callable[[], Awaitable[int]],
        wake: Callable[[], None],
        describe: Callable[[BaseException], str],
        interval: float = DEFAULT_PROBE_INTERVAL,
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.interval = interval
        self.timeout = timeout
        self._probe = probe
        self._count_backed_off = count_backed_off
        self._make_due = make_due
        self._wake = wake
        self._describe = describe
        self._changed = asyncio.Event()
        # Unknown at start: a previous run may have left deliveries backed off.
        self._maybe_backed_off = True
        self._armed = False
        self.probing = False
        self.probes = 0
        self.last_probe_at: float | None = None
        self.last_probe_ok: bool | None = None
        self.last_probe_error: str | None = None
        self.drains = 0
        self.last_drain_at: float | None = None
        self.last_drained = 0

    def backed_off(self) -> None:
        """A delivery failed and is scheduled for later: start probing (if not already)."""
        self._maybe_backed_off = True
        self._changed.set()

    async def run(self) -> None:
        while True:
            if not self._maybe_backed_off:
                self.probing = False
                await self._changed.wait()
                self._changed.clear()
                continue
            await asyncio.sleep(self.interval)
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database, most likely: try again next round
                self.last_probe_error = self._describe(exc)
                log.warning("sink %s: recovery probe failed: %s", self.name, self.last_probe_error)

    async def _round(self) -> None:
        if not await self._count_backed_off():
            self._maybe_backed_off = False
            self._armed = False
            return
        self.probing = True
        if not await self._answers():
            self._armed = True
            return
        if not self._armed:
            return  # answering all along: the deliveries fail for another reason
        self._armed = False
        made_due = await self._make_due()
        self.drains += 1
        self.last_drain_at = time.time()
        self.last_drained = made_due
        log.info(
            "sink %s: destination answers again; %d backed-off deliveries are due now",
            self.name,
            made_due,
        )
        self._wake()

    async def _answers(self) -> bool:
        self.probes += 1
        self.last_probe_at = time.time()
        try:
            await asyncio.wait_for(self._probe(), self.timeout)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            self.last_probe_ok = False
            self.last_probe_error = f"no answer within {self.timeout:g}s"
        except Exception as exc:
            self.last_probe_ok = False
            self.last_probe_error = self._describe(exc)
        else:
            self.last_probe_ok = True
            self.last_probe_error = None
        if not self.last_probe_ok:
            log.debug("sink %s: probe: %s", self.name, self.last_probe_error)
        return bool(self.last_probe_ok)

    def status(self) -> dict[str, Any]:
        return {
            "probing": self.probing,
            "interval": self.interval,
            "probes": self.probes,
            "last_probe_at": self.last_probe_at,
            "last_probe_ok": self.last_probe_ok,
            "last_probe_error": self.last_probe_error,
            "drains": self.drains,
            "last_drain_at": self.last_drain_at,
            "last_drained": self.last_drained,
        }

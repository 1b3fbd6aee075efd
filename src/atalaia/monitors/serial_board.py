"""What the serial monitor knows about its board, learnt from the messages it sent.

The port threads decide when the link is up; this decides what each message means: a
heartbeat stamps the board alive (and a falling uptime counts a reboot), a reading replaces its
sensor's value, an ack settles the command it names. It takes no lock of its own: the monitor
calls it under the lock that also guards the port state, so a snapshot sees both at one moment.
"""

from __future__ import annotations

import time
from collections import deque

from atalaia.monitors.serial_protocol import Ack, BoardMessage, Heartbeat, Reading, UnknownMessage
from atalaia.monitors.serial_records import BoardInfo, CommandRecord, SensorReading, SerialCounters

MAX_SENSORS = 64  # distinct sensor names kept; a board inventing names cannot grow memory
RECENT_COMMANDS = 20


class BoardState:
    """Counters, the board's last heartbeat and info, its sensors' values, recent commands."""

    def __init__(self) -> None:
        self.counters = SerialCounters()
        self.info: BoardInfo | None = None
        self.readings: dict[str, SensorReading] = {}
        self.recent: deque[CommandRecord] = deque(maxlen=RECENT_COMMANDS)
        self.last_heartbeat_at: float | None = None
        self.last_malformed: str | None = None
        self._heartbeat_mono: float | None = None

    def heartbeat_age(self) -> float | None:
        """Seconds since the last heartbeat on the current connection; None before the first."""
        if self._heartbeat_mono is None:
            return None
        return time.monotonic() - self._heartbeat_mono

    def forget_heartbeat(self) -> None:
        """The connection changed: the board must prove it is alive on the new one."""
        self._heartbeat_mono = None

    def malformed(self, reason: str) -> None:
        self.counters.lines += 1
        self.counters.malformed += 1
        self.last_malformed = reason

    def apply(self, message: BoardMessage | UnknownMessage, now: float) -> None:
        """Take in one valid message; `now` is `time.time()`."""
        self.counters.lines += 1
        if isinstance(message, Heartbeat):
            self._heartbeat(message, now)
        elif isinstance(message, Reading):
            self._reading(message, now)
        elif isinstance(message, Ack):
            self._ack(message)
        else:
            self.counters.unknown += 1

    def _heartbeat(self, message: Heartbeat, now: float) -> None:
        self.counters.heartbeats += 1
        self._heartbeat_mono = time.monotonic()
        self.last_heartbeat_at = now
        before = self.info.uptime_ms if self.info is not None else None
        if before is not None and message.uptime_ms is not None and message.uptime_ms < before:
            self.counters.board_restarts += 1
        self.info = BoardInfo(
            fw=message.fw, board=message.board, proto=message.proto, uptime_ms=message.uptime_ms
        )

    def _reading(self, message: Reading, now: float) -> None:
        if message.sensor not in self.readings and len(self.readings) >= MAX_SENSORS:
            self.counters.readings_dropped += 1
            return
        self.counters.readings += 1
        self.readings[message.sensor] = SensorReading(message.value, message.unit, now)

    def _ack(self, message: Ack) -> None:
        if message.ok:
            self.counters.acks_ok += 1
        else:
            self.counters.acks_failed += 1
        for record in self.recent:
            if record.id == message.id:
                record.status = "acked" if message.ok else "rejected"
                record.error = None if message.ok else (message.error or "rejected by the board")
                return

"""What the serial monitor keeps and reports: counters, readings, commands, the snapshot.

Separate from the threads that fill them so the shapes the API and Prometheus read are in one
short place. Every text in here that may come from a port name or an exception has already
been masked by the monitor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from atalaia.monitors.serial_protocol import ReadingValue

SerialState = Literal["disabled", "stopped", "offline", "online"]
# queued -> sent -> acked | rejected; or queued -> expired (never written in time) or
# cancelled (the monitor stopped); dropped: the queue was full, it never entered it.
CommandStatus = Literal["queued", "sent", "acked", "rejected", "expired", "cancelled", "dropped"]


@dataclass(slots=True)
class SerialCounters:
    """Totals since the monitor was made (they survive reconnects)."""

    lines: int = 0
    heartbeats: int = 0
    readings: int = 0
    acks_ok: int = 0
    acks_failed: int = 0
    malformed: int = 0
    oversize: int = 0
    unknown: int = 0
    readings_dropped: int = 0
    board_restarts: int = 0
    commands_sent: int = 0
    commands_dropped: int = 0
    commands_expired: int = 0
    write_errors: int = 0
    opens: int = 0
    open_failures: int = 0
    disconnects: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class SensorReading:
    value: ReadingValue
    unit: str | None
    at: float


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """What the latest heartbeat said about the board."""

    fw: str | None = None
    board: str | None = None
    proto: int | None = None
    uptime_ms: int | None = None


@dataclass(slots=True)
class CommandRecord:
    """One command's life; `line` is the exact bytes written to the port."""

    id: str
    action: str
    state: str
    duration_s: float | None
    channel: int | None
    alert_id: str | None
    queued_at: float
    line: bytes = field(repr=False)
    status: CommandStatus = "queued"
    sent_at: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["line"] = self.line.decode("ascii", "replace").rstrip("\n")
        return data


@dataclass(frozen=True, slots=True)
class SerialSnapshot:
    """The board as last seen. `reason` says why it is not online (None when it is)."""

    state: SerialState
    online: bool
    port: str | None
    port_open: bool
    reason: str | None
    since: float | None
    heartbeat_timeout: float
    last_heartbeat_at: float | None
    heartbeat_age_s: float | None
    board: BoardInfo | None
    readings: dict[str, SensorReading]
    counters: dict[str, int]
    queued_commands: int
    recent_commands: list[dict[str, Any]]
    last_error: str | None
    last_error_at: float | None
    last_malformed: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

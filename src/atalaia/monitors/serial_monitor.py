"""SerialMonitor: the ESP32 (or any board speaking docs/serial-protocol.md) on a serial port.

Two daemon threads. The reader owns the port: it opens it (through pyserial's
`serial_for_url`, so a device path, a pty, `socket://` and `loop://` all work), reads with a
timeout, frames and parses lines, and when the port errors or disappears (a USB cable pulled)
closes it, reports the board offline with the reason and reopens with capped backoff, forever,
with no restart of anything. The writer takes commands from a bounded queue, so `on_alert()`
never waits on the port: a full queue drops the command and counts it, and a command that
cannot be written within `command_max_age` (the board unplugged) is dropped rather than
sounding a siren minutes after the alert.

The board is online while the port is open and its last heartbeat is younger than
`heartbeat_timeout`. `on_change(online, reason)` is called on the reader thread on each change.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol, cast
from urllib.parse import urlsplit

import serial

from atalaia.capture.backoff import Backoff
from atalaia.config.monitors import SerialCommandConfig, SerialMonitorConfig
from atalaia.events.types import AlertEvent
from atalaia.monitors.alert_commands import commands_for
from atalaia.monitors.base import ThreadedMonitor, Worker
from atalaia.monitors.line_framer import LineFramer
from atalaia.monitors.serial_board import BoardState
from atalaia.monitors.serial_protocol import (
    MalformedLine,
    command_message,
    encode_line,
    parse_board_line,
)
from atalaia.monitors.serial_records import (
    CommandRecord,
    CommandStatus,
    SerialSnapshot,
)
from atalaia.redact import mask_secrets, mask_url

log = logging.getLogger(__name__)

OnlineCallback = Callable[[bool, str | None], None]

_READ_CHUNK = 4096
_WRITER_POLL = 0.25


class SerialPort(Protocol):
    """What the monitor uses of a pyserial port (every `serial_for_url` class has it)."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class SerialMonitor(ThreadedMonitor):
    """See the module docstring. Disabled (state `disabled`) when no port is configured."""

    name = "serial"

    def __init__(
        self, config: SerialMonitorConfig, on_change: OnlineCallback | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.on_change = on_change
        self._secrets = _url_secrets(config.port)
        self._lock = threading.Lock()
        self._queue: queue.Queue[CommandRecord | None] = queue.Queue(config.queue_size)
        self._port: SerialPort | None = None
        self._port_ready = threading.Event()
        self._port_reason: str | None = "port not opened yet"
        self._broken: str | None = None
        self._needs_break = False
        self._board = BoardState()
        self._online = False
        self._since: float | None = None
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._framer = LineFramer(config.max_line_bytes)

    @property
    def enabled(self) -> bool:
        return self.config.active

    @property
    def port_name(self) -> str | None:
        """The configured port with any password masked."""
        port = self.config.port
        if port is None:
            return None
        return mask_url(port) if "://" in port else port

    # ---- commands (any thread) -------------------------------------------------------------

    def on_alert(self, event: AlertEvent) -> list[str]:
        """Queue the configured command of every matching `alert_commands` entry; returns the
        ids of the commands queued. Never blocks."""
        if not self.enabled:
            return []
        ids = []
        for command in commands_for(event, self.config.alert_commands):
            command_id = self.send_command(command, alert_id=event.after.id)
            if command_id is not None:
                ids.append(command_id)
        return ids

    def send_command(self, command: SerialCommandConfig, alert_id: str | None = None) -> str | None:
        """Queue one command for the board; its id, or None when the queue is full or the
        monitor is disabled."""
        if not self.enabled:
            return None
        command_id = uuid.uuid4().hex[:8]
        record = CommandRecord(
            id=command_id,
            action=command.action,
            state=command.state,
            duration_s=command.duration_s,
            channel=command.channel,
            alert_id=alert_id,
            queued_at=time.time(),
            line=encode_line(command_message(command_id, command)),
        )
        with self._lock:
            self._board.recent.append(record)
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            with self._lock:
                record.status = "dropped"
                record.error = "command queue full"
                self._board.counters.commands_dropped += 1
            log.warning("serial: command queue full, %s %s dropped", command.action, command.state)
            return None
        return command_id

    # ---- threads ---------------------------------------------------------------------------

    def _workers(self) -> list[tuple[str, Worker]]:
        return [("reader", self._read_loop), ("writer", self._write_loop)]

    def _read_loop(self, stop: threading.Event) -> None:
        cfg = self.config
        backoff = Backoff(cfg.reconnect_initial, cfg.reconnect_max)
        next_open = 0.0
        try:
            while not stop.is_set():
                port = self._port
                if port is None:
                    wait = next_open - time.monotonic()
                    if wait > 0:
                        stop.wait(min(wait, cfg.read_timeout))
                    elif not self._open():
                        next_open = time.monotonic() + backoff.next_delay()
                    self._check_transition()
                    continue
                try:
                    data = _read_some(port)
                except Exception as exc:  # whatever a driver raises, the port is unusable
                    self._drop(f"port error: {exc}")
                    next_open = time.monotonic() + backoff.next_delay()
                    continue
                if data and self._receive(data):
                    backoff.reset()  # the link works: the next failure starts from `initial`
                broken = self._take_broken()
                if broken is not None:
                    self._drop(broken)
                    next_open = time.monotonic() + backoff.next_delay()
                self._check_transition()
        finally:
            self._drop("monitor stopped", error=False)
            self._check_transition()

    def _write_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            record = self._queue.get()
            if record is not None:  # None only wakes the writer up to see the stop
                self._deliver(record, stop)
        self._cancel_queued()

    def _on_stop_requested(self) -> None:
        # A full queue needs no wake-up: the writer is busy with it and sees the stop next.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    # ---- reader side -----------------------------------------------------------------------

    def _open(self) -> bool:
        cfg = self.config
        try:
            port = cast(
                SerialPort,
                serial.serial_for_url(
                    cfg.port,
                    baudrate=cfg.baudrate,
                    timeout=cfg.read_timeout,
                    write_timeout=cfg.write_timeout,
                    # Two readers on one port each get half of every line; a second atalaia
                    # (or a serial console left open) is refused with a clear reason instead.
                    exclusive=True,
                ),
            )
        except (OSError, ValueError, serial.SerialException) as exc:
            reason = self._mask(f"cannot open port: {exc}")
            with self._lock:
                first = self._board.counters.open_failures == 0 or self._port_reason != reason
                self._board.counters.open_failures += 1
                self._port_reason = reason
                self._note_error(reason)
            if first:
                log.warning("serial %s: %s", self.port_name, reason)
            return False
        self._framer.reset()
        with self._lock:
            self._port = port
            self._broken = None
            self._port_reason = None
            self._board.forget_heartbeat()
            self._board.counters.opens += 1
        self._port_ready.set()
        log.info("serial %s: port open", self.port_name)
        return True

    def _drop(self, reason: str, *, error: bool = True) -> None:
        """Close the port (if open) and remember why."""
        reason = self._mask(reason)
        self._port_ready.clear()
        with self._lock:
            port, self._port = self._port, None
            self._board.forget_heartbeat()
            self._port_reason = reason
            if port is not None and error:
                self._board.counters.disconnects += 1
                self._note_error(reason)
        if port is None:
            return
        try:
            port.close()
        except (OSError, serial.SerialException) as exc:
            log.debug("serial: closing the port failed: %s", exc)
        if error:
            log.warning("serial %s: %s; port closed, reopening", self.port_name, reason)

    def _take_broken(self) -> str | None:
        with self._lock:
            broken, self._broken = self._broken, None
        return broken

    def _receive(self, data: bytes) -> bool:
        """Frame and handle `data`; True when at least one valid message arrived."""
        lines = self._framer.feed(data)
        with self._lock:
            self._board.counters.oversize = self._framer.oversize
        valid = False
        for line in lines:
            if line.strip():
                valid = self._handle_line(line) or valid
        return valid

    def _handle_line(self, line: bytes) -> bool:
        try:
            message = parse_board_line(line)
        except MalformedLine as exc:
            with self._lock:
                self._board.malformed(str(exc))
            log.debug("serial: malformed line (%s)", exc)
            return False
        with self._lock:
            self._board.apply(message, time.time())
        return True

    def _liveness(self) -> tuple[bool, str | None]:
        """(online, why not) from the port and the last heartbeat; call with the lock held."""
        if self._port is None:
            return False, self._port_reason or "port closed"
        age = self._board.heartbeat_age()
        if age is None:
            return False, "port open, no heartbeat yet"
        if age > self.config.heartbeat_timeout:
            return (
                False,
                f"no heartbeat for {age:.1f} s (timeout {self.config.heartbeat_timeout:g} s)",
            )
        return True, None

    def _check_transition(self) -> None:
        with self._lock:
            online, reason = self._liveness()
            if online == self._online:
                return
            self._online = online
            self._since = time.time()
        log.info(
            "serial %s: board %s%s",
            self.port_name,
            "online" if online else "offline",
            f" ({reason})" if reason else "",
        )
        if self.on_change is not None:
            try:
                self.on_change(online, reason)
            except Exception:
                log.exception("serial monitor: on_change callback failed")

    # ---- writer side -----------------------------------------------------------------------

    def _deliver(self, record: CommandRecord, stop: threading.Event) -> None:
        deadline = time.monotonic() + self.config.command_max_age - (time.time() - record.queued_at)
        while not stop.is_set():
            if time.monotonic() > deadline:
                self._finish(
                    record, "expired", f"not written within {self.config.command_max_age:g} s"
                )
                return
            with self._lock:
                port, broken = self._port, self._broken is not None
                data = (b"\n" if self._needs_break else b"") + record.line
            if port is None:
                self._port_ready.wait(_WRITER_POLL)
                continue
            if broken:  # the reader closes it within its read timeout
                stop.wait(0.05)
                continue
            try:
                port.write(data)
            except Exception as exc:
                # Not only OSError: when the reader closes the port under a write, pyserial's
                # internals fail on the vanished handle (TypeError, AttributeError).
                reason = self._mask(f"write failed: {exc}")
                with self._lock:
                    self._board.counters.write_errors += 1
                    # A partial line may sit in the board's buffer: end it before the next one.
                    self._needs_break = True
                    if self._port is port:
                        self._broken = reason
                continue
            with self._lock:
                self._needs_break = False
                self._board.counters.commands_sent += 1
                record.sent_at = time.time()
                # The board may have answered already (the reader thread took the ack between
                # the write and this lock): never step a settled command back to "sent".
                if record.status == "queued":
                    record.status = "sent"
            log.info(
                "serial %s: sent %s %s (id %s)",
                self.port_name,
                record.action,
                record.state,
                record.id,
            )
            return
        self._finish(record, "cancelled", "monitor stopped")

    def _finish(self, record: CommandRecord, status: CommandStatus, error: str) -> None:
        with self._lock:
            record.status = status
            record.error = error
            if status == "expired":
                self._board.counters.commands_expired += 1
        if status == "expired":
            log.warning(
                "serial %s: %s %s dropped: %s", self.port_name, record.action, record.state, error
            )

    def _cancel_queued(self) -> None:
        while True:
            try:
                record = self._queue.get_nowait()
            except queue.Empty:
                return
            if record is not None:
                self._finish(record, "cancelled", "monitor stopped")

    # ---- status ----------------------------------------------------------------------------

    def _note_error(self, message: str) -> None:
        self._last_error = message
        self._last_error_at = time.time()

    def _mask(self, text: str) -> str:
        return mask_secrets(text, self._secrets)

    def snapshot(self) -> SerialSnapshot:
        state = self.state
        with self._lock:
            online, reason = self._liveness()
            if state != "running":
                online = False
                reason = (
                    "no port configured"
                    if self.config.port is None
                    else ("disabled in configuration" if state == "disabled" else "monitor stopped")
                )
            age = self._board.heartbeat_age()
            return SerialSnapshot(
                state="online" if online else ("offline" if state == "running" else state),
                online=online,
                port=self.port_name,
                port_open=self._port is not None,
                reason=reason,
                since=self._since,
                heartbeat_timeout=self.config.heartbeat_timeout,
                last_heartbeat_at=self._board.last_heartbeat_at,
                heartbeat_age_s=None if age is None else round(age, 3),
                board=self._board.info,
                readings=dict(self._board.readings),
                counters=self._board.counters.as_dict(),
                queued_commands=self._queue.qsize(),
                recent_commands=[r.as_dict() for r in self._board.recent],
                last_error=self._last_error,
                last_error_at=self._last_error_at,
                last_malformed=self._board.last_malformed,
            )


def _read_some(port: SerialPort) -> bytes:
    """Wait up to the read timeout for a byte, then take whatever else is already there."""
    data = port.read(1)
    if data:
        waiting = port.in_waiting
        if waiting:
            data += port.read(min(waiting, _READ_CHUNK))
    return bytes(data)


def _url_secrets(port: str | None) -> tuple[str, ...]:
    if port is None or "://" not in port:
        return ()
    try:
        password = urlsplit(port).password
    except ValueError:
        return ()
    return (password,) if password else ()

"""SerialMonitor against a fake ESP32 on a real pty pair (the test plays the board on the
master side; the monitor opens the slave path through pyserial)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from atalaia.config.monitors import SerialCommandConfig
from atalaia.events.types import AlertEvent, AlertState
from atalaia.monitors import SerialMonitor
from tests.monitors.support import PtyBoard, wait_until

SIREN_AT_PRESS = [
    {
        "match": {"rule_type": "ppe_missing", "camera": "press"},
        "command": {"action": "siren", "state": "on", "duration_s": 10},
    }
]


def alert(camera: str = "press", rule_type: str = "ppe_missing", kind: Any = "new") -> AlertEvent:
    state = AlertState(
        id="a1b2c3",
        camera=camera,
        label="person",
        rule="no helmet",
        rule_type=rule_type,
        zone="press-area",
        score=0.9,
        top_score=0.9,
        box=(10, 20, 30, 40),
        track_id=7,
        start_time=1000.0,
    )
    return AlertEvent(type=kind, after=state)


def siren_line(command_id: str) -> bytes:
    """The exact bytes the board must receive for SIREN_AT_PRESS."""
    return (
        b'{"type":"command","id":"'
        + command_id.encode()
        + b'","action":"siren","state":"on","duration_s":10}\n'
    )


def online(monitor: SerialMonitor) -> Callable[[], bool]:
    return lambda: monitor.snapshot().online


def test_heartbeats_bring_the_board_online_and_silence_takes_it_offline(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    changes: list[tuple[bool, str | None]] = []
    monitor = make_serial(str(pty_board.path), on_change=lambda o, r: changes.append((o, r)))
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    assert not monitor.snapshot().online
    assert monitor.snapshot().reason == "port open, no heartbeat yet"

    with pty_board.heartbeats(interval=0.1, fw="1.2.0"):
        assert wait_until(online(monitor), 3)
        snap = monitor.snapshot()
        assert snap.state == "online"
        assert snap.board is not None and snap.board.fw == "1.2.0"
        assert snap.heartbeat_age_s is not None and snap.heartbeat_age_s < 1.0
        assert wait_until(lambda: monitor.snapshot().counters["heartbeats"] >= 3, 3)
        assert monitor.snapshot().online
    assert wait_until(lambda: not monitor.snapshot().online, 3)
    snap = monitor.snapshot()
    assert snap.state == "offline"
    assert snap.port_open
    assert snap.reason is not None and snap.reason.startswith("no heartbeat for")
    # on_change comes from the reader thread, within one read timeout of the change
    assert wait_until(lambda: len(changes) >= 2, 2)
    assert [online for online, _ in changes] == [True, False]
    assert changes[1][1] is not None and "no heartbeat" in changes[1][1]


def test_readings_are_kept_with_their_types(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(pty_board.path))
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    pty_board.send({"type": "reading", "sensor": "door", "value": 1})
    pty_board.send({"type": "reading", "sensor": "button", "value": True})
    pty_board.send({"type": "reading", "sensor": "temp", "value": 21.5, "unit": "C"})
    pty_board.send({"type": "reading", "sensor": "door", "value": 0})
    assert wait_until(lambda: monitor.snapshot().counters["readings"] == 4, 3)
    readings = monitor.snapshot().readings
    assert readings["door"].value == 0 and type(readings["door"].value) is int
    assert readings["button"].value is True
    assert readings["temp"].value == 21.5 and readings["temp"].unit == "C"
    assert json.loads(json.dumps(monitor.snapshot().as_dict()))["readings"]["temp"]["value"] == 21.5


def test_garbage_is_counted_and_survived(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(pty_board.path), max_line_bytes=128)
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    garbage = [
        b"\x00\xff\xfe binary noise \x80\x81\n",  # not UTF-8
        b"ets Jun  8 2016 00:22:57 rst:0x1 (POWERON_RESET)\r\n",  # an ESP32 boot banner
        b"[1, 2, 3]\n",  # JSON, not an object
        b'{"no_type": 1}\n',
        b'{"type": "reading", "sensor": "door"}\n',  # value missing
        b'{"type": "heartbeat", "uptime_ms": "12"}\n',  # a string where a number belongs
        b'{"type": "reading", "sensor": "t", "value": NaN}\n',  # not JSON
        b'{"type": "reading", "sensor": "' + b"x" * 300 + b'", "value": 1}\n',  # too long
        b"\xaa" * 1000,  # noise with no newline at all, then the end of it
        b"\n",
        b'{"type": "log", "msg": "newer firmware"}\n',  # unknown type: not an error
        b"\r\n\n",  # blank lines are ignored
    ]
    for chunk in garbage:
        pty_board.send(chunk)
    pty_board.send({"type": "heartbeat", "uptime_ms": 5, "fw": "9.9.9"})
    assert wait_until(online(monitor), 3)
    snap = monitor.snapshot()
    assert snap.counters["malformed"] == 7
    assert snap.counters["oversize"] == 2
    assert snap.counters["unknown"] == 1
    assert snap.counters["heartbeats"] == 1
    assert snap.last_malformed is not None
    assert monitor.running
    assert snap.board is not None and snap.board.fw == "9.9.9"


def test_an_alert_sends_the_configured_command(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(pty_board.path), alert_commands=SIREN_AT_PRESS)
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)

    ids = monitor.on_alert(alert())
    assert len(ids) == 1
    assert pty_board.read_line(3) == siren_line(ids[0])

    pty_board.send({"type": "ack", "id": ids[0], "ok": True})
    assert wait_until(lambda: monitor.snapshot().counters["acks_ok"] == 1, 3)
    record = monitor.snapshot().recent_commands[-1]
    assert record["id"] == ids[0]
    assert record["status"] == "acked"
    assert record["alert_id"] == "a1b2c3"


def test_alerts_that_do_not_match_send_nothing(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(pty_board.path), alert_commands=SIREN_AT_PRESS)
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    assert monitor.on_alert(alert(camera="gate")) == []
    assert monitor.on_alert(alert(rule_type="loitering")) == []
    assert monitor.on_alert(alert(kind="update")) == []  # only `new` by default
    assert pty_board.read_line(0.5) is None
    assert monitor.snapshot().counters["commands_sent"] == 0


def test_unplug_and_replug_without_restarting_the_monitor(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    changes: list[bool] = []
    monitor = make_serial(
        str(pty_board.path),
        alert_commands=SIREN_AT_PRESS,
        on_change=lambda o, r: changes.append(o),
    )
    monitor.start()
    with pty_board.heartbeats():
        assert wait_until(online(monitor), 3)

        pty_board.unplug()
        assert wait_until(lambda: not monitor.snapshot().online, 3)
        snap = monitor.snapshot()
        assert snap.state == "offline"
        assert snap.reason is not None
        assert snap.reason.startswith(("port error", "cannot open port")), snap.reason
        assert wait_until(lambda: monitor.snapshot().counters["open_failures"] >= 2, 3)
        assert monitor.running

        pty_board.plug()
        assert wait_until(online(monitor), 5)
    ids = monitor.on_alert(alert())
    assert pty_board.read_line(3) == siren_line(ids[0])
    snap = monitor.snapshot()
    assert snap.counters["disconnects"] == 1
    assert snap.counters["opens"] == 2
    assert wait_until(lambda: len(changes) >= 3, 2)
    assert changes == [True, False, True]


def test_commands_wait_for_a_board_that_comes_back(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(pty_board.path), command_max_age=10)
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    pty_board.unplug()
    assert wait_until(lambda: not monitor.snapshot().port_open, 3)
    command_id = monitor.send_command(SerialCommandConfig(action="relay", state="off", channel=2))
    pty_board.plug()
    got = pty_board.read_line(5)
    assert got is not None
    assert json.loads(got) == {
        "type": "command",
        "id": command_id,
        "action": "relay",
        "state": "off",
        "channel": 2,
    }


def test_commands_that_cannot_be_written_in_time_expire(
    tmp_path: Any, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(tmp_path / "no-such-tty"), command_max_age=0.3, queue_size=1)
    first = monitor.send_command(SerialCommandConfig(action="siren"))
    second = monitor.send_command(SerialCommandConfig(action="siren"))
    assert first is not None and second is None  # the queue holds one
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().counters["commands_expired"] == 1, 3)
    snap = monitor.snapshot()
    assert [c["status"] for c in snap.recent_commands] == ["expired", "dropped"]
    assert snap.counters["commands_dropped"] == 1
    assert snap.reason is not None and snap.reason.startswith("cannot open port")
    assert snap.state == "offline"


def test_no_port_means_disabled_not_an_error(make_serial: Callable[..., SerialMonitor]) -> None:
    monitor = make_serial(None, alert_commands=SIREN_AT_PRESS)
    monitor.start()
    assert not monitor.running
    snap = monitor.snapshot()
    assert snap.state == "disabled"
    assert snap.reason == "no port configured"
    assert snap.last_error is None
    assert monitor.on_alert(alert()) == []


def test_stopped_monitor_closes_the_port_and_says_so(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    monitor = make_serial(str(pty_board.path))
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    assert monitor.stop(3)
    snap = monitor.snapshot()
    assert snap.state == "stopped"
    assert not snap.port_open
    assert snap.reason == "monitor stopped"
    # the pty's slave is closed again: the board side sees nobody reading
    monitor.start()
    assert wait_until(lambda: monitor.snapshot().port_open, 3)
    assert monitor.snapshot().counters["opens"] == 2


def test_a_port_already_in_use_is_refused_with_a_reason(
    pty_board: PtyBoard, make_serial: Callable[..., SerialMonitor]
) -> None:
    first = make_serial(str(pty_board.path))
    first.start()
    assert wait_until(lambda: first.snapshot().port_open, 3)
    second = make_serial(str(pty_board.path))
    second.start()
    assert wait_until(lambda: second.snapshot().counters["open_failures"] >= 1, 3)
    snap = second.snapshot()
    assert not snap.port_open
    assert snap.reason is not None and "lock" in snap.reason.lower(), snap.reason

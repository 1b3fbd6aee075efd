"""BoardState: what messages from the board mean, as plain data."""

from __future__ import annotations

from atalaia.monitors.serial_board import MAX_SENSORS, BoardState
from atalaia.monitors.serial_protocol import Ack, Heartbeat, Reading, UnknownMessage
from atalaia.monitors.serial_records import CommandRecord


def test_a_falling_uptime_counts_a_board_restart() -> None:
    board = BoardState()
    assert board.heartbeat_age() is None
    for uptime in (1000, 2000, 50, 1050):
        board.apply(Heartbeat(type="heartbeat", uptime_ms=uptime, fw="2.0"), now=1.0)
    assert board.counters.heartbeats == 4
    assert board.counters.board_restarts == 1
    assert board.info is not None and board.info.uptime_ms == 1050
    age = board.heartbeat_age()
    assert age is not None and 0 <= age < 5
    board.forget_heartbeat()
    assert board.heartbeat_age() is None
    assert board.last_heartbeat_at == 1.0  # still shown, though no longer proof of life


def test_sensor_names_are_bounded() -> None:
    board = BoardState()
    for i in range(MAX_SENSORS + 5):
        board.apply(Reading(type="reading", sensor=f"s{i}", value=i), now=2.0)
    board.apply(Reading(type="reading", sensor="s0", value="updated"), now=3.0)
    assert len(board.readings) == MAX_SENSORS
    assert board.counters.readings_dropped == 5
    assert board.readings["s0"].value == "updated" and board.readings["s0"].at == 3.0


def test_acks_settle_their_command_and_unknown_types_are_counted() -> None:
    board = BoardState()
    record = CommandRecord(
        id="c1",
        action="siren",
        state="on",
        duration_s=None,
        channel=None,
        alert_id=None,
        queued_at=0.0,
        line=b"{}\n",
        status="sent",
    )
    board.recent.append(record)
    board.apply(Ack(type="ack", id="other", ok=True), now=0.0)
    assert record.status == "sent"
    board.apply(Ack(type="ack", id="c1", ok=False), now=0.0)
    assert record.status == "rejected" and record.error == "rejected by the board"
    board.apply(UnknownMessage("log"), now=0.0)
    assert board.counters.as_dict()["unknown"] == 1
    assert board.counters.acks_ok == 1 and board.counters.acks_failed == 1
    assert board.counters.lines == 3

"""The board protocol's parsing, encoding and line framing, as plain data."""

from __future__ import annotations

import json

import pytest

from atalaia.config.monitors import SerialCommandConfig
from atalaia.monitors.line_framer import LineFramer
from atalaia.monitors.serial_protocol import (
    Ack,
    Heartbeat,
    MalformedLine,
    Reading,
    UnknownMessage,
    command_message,
    encode_line,
    parse_board_line,
)


def test_board_messages_parse_to_their_types() -> None:
    beat = parse_board_line(b'{"type":"heartbeat","uptime_ms":1234,"fw":"1.2.0","extra":1}')
    assert beat == Heartbeat(type="heartbeat", uptime_ms=1234, fw="1.2.0")
    assert parse_board_line(b'{"type":"heartbeat"}') == Heartbeat(type="heartbeat")
    reading = parse_board_line(b'{"type":"reading","sensor":"door","value":1}')
    assert isinstance(reading, Reading) and reading.value == 1 and type(reading.value) is int
    flag = parse_board_line(b'{"type":"reading","sensor":"pir","value":false}')
    assert isinstance(flag, Reading) and flag.value is False
    ack = parse_board_line(b'{"type":"ack","id":"c1","ok":false,"error":"no relay 9"}')
    assert ack == Ack(type="ack", id="c1", ok=False, error="no relay 9")
    assert parse_board_line(b'{"type":"log","msg":"hi"}') == UnknownMessage("log")


@pytest.mark.parametrize(
    "line",
    [
        b"\xff\xfe",
        b"hello",
        b"[1]",
        b'"heartbeat"',
        b'{"type": 3}',
        b'{"type":"heartbeat","uptime_ms":-1}',
        b'{"type":"heartbeat","uptime_ms":true}',
        b'{"type":"reading","sensor":"bad name","value":1}',
        b'{"type":"reading","sensor":"door","value":{"nested":1}}',
        b'{"type":"reading","sensor":"door","value":Infinity}',
        b'{"type":"ack","ok":true}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_anything_else_is_malformed(line: bytes) -> None:
    with pytest.raises(MalformedLine):
        parse_board_line(line)


def test_commands_encode_in_the_documented_shape() -> None:
    command = SerialCommandConfig(action="siren", state="on", duration_s=10)
    line = encode_line(command_message("ab12", command))
    assert line == b'{"type":"command","id":"ab12","action":"siren","state":"on","duration_s":10}\n'
    relay = SerialCommandConfig(action="relay", state="off", duration_s=0.5, channel=3)
    assert json.loads(encode_line(command_message("x", relay))) == {
        "type": "command",
        "id": "x",
        "action": "relay",
        "state": "off",
        "duration_s": 0.5,
        "channel": 3,
    }


def test_framer_splits_lines_across_chunks_and_strips_cr() -> None:
    framer = LineFramer(16)
    assert framer.feed(b"ab") == []
    assert framer.feed(b"c\r\nde\nf") == [b"abc", b"de"]
    assert framer.feed(b"\n") == [b"f"]
    assert framer.oversize == 0


def test_framer_drops_overlong_lines_whole_and_resumes() -> None:
    framer = LineFramer(8)
    assert framer.feed(b"12345678\n") == [b"12345678"]  # exactly the limit is fine
    assert framer.feed(b"123456789\nok\n") == [b"ok"]
    assert framer.feed(b"x" * 5) == []
    assert framer.feed(b"x" * 5) == []  # over the limit: the rest of this line is skipped
    assert framer.feed(b"x" * 100) == []
    assert framer.feed(b"tail\nnext\n") == [b"next"]
    assert framer.oversize == 2
    framer.feed(b"partial")
    framer.reset()
    assert framer.feed(b"\nfresh\n") == [b"", b"fresh"]

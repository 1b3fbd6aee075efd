"""The line-delimited JSON protocol between atalaia and its board (docs/serial-protocol.md).

Everything from the board is untrusted: a line is parsed into a typed message or rejected as
malformed, never allowed to raise past the reader. Unknown `type`s are told apart from
malformed lines, so newer firmware can add message types without looking broken.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atalaia.config.monitors import SerialCommandConfig

PROTOCOL_VERSION = 1

ReadingValue = bool | int | float | Annotated[str, Field(max_length=64)] | None


class _FromBoard(BaseModel):
    # Unknown fields are ignored (newer firmware may add some); known ones must have the right
    # JSON type, "1" is not 1.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class Heartbeat(_FromBoard):
    """The board is alive. `uptime_ms` going down means the board restarted."""

    type: Literal["heartbeat"]
    uptime_ms: int | None = Field(None, ge=0)
    fw: str | None = Field(None, max_length=32)
    board: str | None = Field(None, max_length=32)
    proto: int | None = Field(None, ge=0)


class Reading(_FromBoard):
    """The current value of one of the board's sensors (a door contact, a button, a level)."""

    type: Literal["reading"]
    sensor: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    value: ReadingValue
    unit: str | None = Field(None, max_length=16)


class Ack(_FromBoard):
    """The board's answer to a command (optional in the protocol)."""

    type: Literal["ack"]
    id: str = Field(min_length=1, max_length=32)
    ok: bool = True
    error: str | None = Field(None, max_length=128)


BoardMessage = Heartbeat | Reading | Ack
_MODELS: dict[str, type[Heartbeat] | type[Reading] | type[Ack]] = {
    "heartbeat": Heartbeat,
    "reading": Reading,
    "ack": Ack,
}


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """Well-formed JSON with a `type` this version does not know."""

    type: str


class MalformedLine(ValueError):
    """A line that is not a protocol message; the text says why (never the whole line)."""


def _no_constants(name: str) -> Any:
    # JSON has no NaN or Infinity; Python's parser accepts them, and a stored NaN would break
    # every JSON response that shows the readings.
    raise ValueError(f"{name} is not a JSON number")


def parse_board_line(line: bytes) -> BoardMessage | UnknownMessage:
    """Parse one line from the board or raise `MalformedLine`."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedLine("not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise MalformedLine(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise MalformedLine(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise MalformedLine("expected a string `type`")
    model = _MODELS.get(kind)
    if model is None:
        return UnknownMessage(kind[:32])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or kind
        raise MalformedLine(f"{kind}: {where}: {first['msg']}") from None


def command_message(command_id: str, command: SerialCommandConfig) -> dict[str, Any]:
    """The command as the board receives it, keys in the documented order."""
    message: dict[str, Any] = {
        "type": "command",
        "id": command_id,
        "action": command.action,
        "state": command.state,
    }
    if command.duration_s is not None:
        duration = command.duration_s
        message["duration_s"] = int(duration) if duration.is_integer() else duration
    if command.channel is not None:
        message["channel"] = command.channel
    return message


def encode_line(message: dict[str, Any]) -> bytes:
    """One compact JSON line, ASCII only (boards parse it byte by byte)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"

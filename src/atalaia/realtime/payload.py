"""FramePayload: what a `process_frame` event carries, checked before any work is spent on it.

Accepted shapes (the web UI and any Socket.IO client):

- `emit("process_frame", image)`
- `emit("process_frame", image, {"min_score": 0.5, "classes": ["person"], "frame_id": 7})`
- `emit("process_frame", {"image": image, "min_score": 0.5, ...})`

where `image` is a JPEG or PNG as binary (an ArrayBuffer, Blob or Python bytes), as a data URL
(`data:image/jpeg;base64,...`, what `canvas.toDataURL()` gives) or as plain base64. Parsing the
envelope is cheap and runs on the event loop; base64 decoding runs on a worker thread.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atalaia.config.realtime import base64_size
from atalaia.realtime.errors import FrameError

# Longest data-URL prefix accepted on top of the base64 text ("data:image/jpeg;base64,").
_DATA_URL_HEADER = 256


class FrameOptions(BaseModel):
    """Per-frame options; an unknown key is an error, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    min_score: float | None = Field(None, ge=0, le=1)
    classes: list[str] | None = Field(None, max_length=1000)
    frame_id: Annotated[str, Field(max_length=200)] | int | None = Field(
        None, description="echoed in the answer"
    )


def frame_id_of(args: Sequence[Any]) -> str | int | None:
    """The client's frame id, read leniently so that even an error answer can carry it."""
    for arg in args[:2]:
        if isinstance(arg, dict):
            value = arg.get("frame_id")
            if isinstance(value, str | int) and not isinstance(value, bool):
                return value[:200] if isinstance(value, str) else value
    return None


def _options_error(exc: ValidationError) -> FrameError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}" for err in exc.errors()
    )
    return FrameError("invalid_options", f"invalid frame options: {problems}")


@dataclass(frozen=True, slots=True)
class FramePayload:
    """The still-encoded image of one frame and its options."""

    encoded: bytes | str
    options: FrameOptions

    @classmethod
    def from_event(cls, args: Sequence[Any], max_bytes: int) -> FramePayload:
        """Check the event's shape and size; `FrameError` says what is wrong."""
        if not args or len(args) > 2:
            raise FrameError(
                "invalid_payload",
                f"expected process_frame(image) or process_frame(image, options), "
                f"got {len(args)} arguments",
            )
        first = args[0]
        raw_options: Any
        if isinstance(first, dict):
            if len(args) > 1:
                raise FrameError(
                    "invalid_payload",
                    "give options inside the frame object or as a second argument, not both",
                )
            raw_options = {k: v for k, v in first.items() if k != "image"}
            image = first.get("image")
        else:
            image = first
            raw_options = args[1] if len(args) > 1 else None
        if raw_options is None:
            raw_options = {}
        if not isinstance(raw_options, dict):
            raise FrameError("invalid_options", "frame options must be an object")
        if isinstance(image, bytearray | memoryview):
            image = bytes(image)
        if not isinstance(image, bytes | str):
            raise FrameError(
                "invalid_payload",
                "expected the image as binary data, a data URL or base64 text, got "
                + ("nothing" if image is None else type(image).__name__),
            )
        limit = max_bytes if isinstance(image, bytes) else base64_size(max_bytes) + _DATA_URL_HEADER
        if len(image) > limit:
            raise _too_large(len(image), max_bytes)
        if not image:
            raise FrameError("invalid_image", "the image is empty")
        try:
            options = FrameOptions.model_validate(raw_options)
        except ValidationError as exc:
            raise _options_error(exc) from None
        return cls(image, options)

    def image_bytes(self, max_bytes: int) -> bytes:
        """The image file's bytes (base64 decoded here: call it off the event loop)."""
        if isinstance(self.encoded, bytes):
            return self.encoded
        text = self.encoded.strip()
        if text.startswith("data:"):
            header, comma, text = text.partition(",")
            if not comma or not header.lower().endswith(";base64"):
                raise FrameError(
                    "invalid_base64",
                    "a data URL must carry base64 (data:image/jpeg;base64,...)",
                )
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise FrameError("invalid_base64", "the image is not valid base64") from None
        if not data:
            raise FrameError("invalid_image", "the image is empty")
        if len(data) > max_bytes:
            raise _too_large(len(data), max_bytes)
        return data


def _too_large(size: int, max_bytes: int) -> FrameError:
    return FrameError(
        "payload_too_large",
        f"the frame is {size} bytes; the limit is {max_bytes} bytes of image",
        max_bytes=max_bytes,
    )

"""The Socket.IO endpoint where a browser or an app sends frames and gets detections back.

Two size limits, on purpose. `max_payload_bytes` is the largest image accepted; anything
larger is answered with a `payload_too_large` error and the connection stays open. The
transport limit (`max_message_bytes`, Engine.IO's `max_http_buffer_size`) is set well above it,
so that an oversized image still reaches the handler and the client is told; only a message
beyond the transport limit makes Engine.IO close the connection, because it drops such a
message before anything could answer it (docs/realtime.md).
"""

from __future__ import annotations

import math

from pydantic import Field, ValidationInfo, field_validator

from atalaia.config.base import StrictModel

MIB = 1024 * 1024
# Room for the data-URL prefix and the Socket.IO framing around a base64 image.
_FRAMING_BYTES = 64 * 1024


def base64_size(raw_bytes: int) -> int:
    """Length of the base64 text of `raw_bytes` bytes (what a data URL carries)."""
    return 4 * math.ceil(raw_bytes / 3)


class RealtimeConfig(StrictModel):
    """Frames from browsers and apps, detected by the same detector process as the cameras."""

    enabled: bool = Field(True, description="serve Socket.IO on /socket.io")
    detector: str = Field("default", description="the configured detector that serves frames")
    min_frame_interval: float = Field(
        1.0, ge=0, le=3600, description="seconds between frames of one client; 0: no limit"
    )
    frame_burst: int = Field(
        1, ge=1, le=100, description="frames a client may send back to back before the interval"
    )
    max_in_flight: int = Field(
        2, ge=1, le=64, description="frames of one client being processed at once; more: busy"
    )
    max_payload_bytes: int = Field(
        10 * MIB, ge=1024, le=256 * MIB, description="largest image accepted (decoded bytes)"
    )
    max_message_bytes: int | None = Field(
        None,
        ge=4096,
        le=1024 * MIB,
        description="Engine.IO's max_http_buffer_size; unset: 3 x max_payload_bytes. A "
        "message above it closes the connection, one below it is answered",
    )
    max_image_pixels: int = Field(
        40_000_000, ge=4096, le=500_000_000, description="largest image accepted, in pixels"
    )
    max_side: int = Field(
        640, ge=64, le=1920, description="frames are scaled down to this longest side"
    )
    cache_size: int = Field(256, ge=0, le=100_000, description="results kept; 0: no cache")
    cache_ttl: float = Field(60.0, gt=0, le=86400, description="seconds a result is kept")
    slow_frame_warning: float = Field(
        2.0, gt=0, le=3600, description="frames slower than this many seconds are logged"
    )
    detect_timeout: float = Field(
        10.0, gt=0, le=300, description="seconds a frame may wait for the detector"
    )
    detector_lanes: int = Field(
        4, ge=1, le=64, description="client frames waiting at the detector at once"
    )
    decode_threads: int = Field(2, ge=1, le=64, description="threads decoding images")
    ping_interval: float = Field(25.0, gt=0, le=3600, description="Socket.IO ping interval (s)")
    ping_timeout: float = Field(60.0, gt=0, le=3600, description="Socket.IO ping timeout (s)")
    cors_allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins allowed besides the service's own; ['*'] allows any",
    )

    @field_validator("max_message_bytes")
    @classmethod
    def _holds_largest_image(cls, value: int | None, info: ValidationInfo) -> int | None:
        payload = info.data.get("max_payload_bytes")
        if value is None or payload is None:
            return value
        least = base64_size(payload) + _FRAMING_BYTES
        if value < least:
            raise ValueError(
                f"expected at least {least} (a base64 image of max_payload_bytes plus framing), "
                f"got {value}"
            )
        return value

    @property
    def transport_max_bytes(self) -> int:
        """Engine.IO's limit on one message."""
        return self.max_message_bytes or 3 * self.max_payload_bytes

    @property
    def websocket_max_size(self) -> int:
        """uvicorn's `ws_max_size`: above the transport limit, so Engine.IO decides (its
        default of 16 MiB would cut a message Engine.IO is meant to read and answer)."""
        return self.transport_max_bytes + _FRAMING_BYTES

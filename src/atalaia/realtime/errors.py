"""FrameError: why a frame was answered with `detection_error` instead of detections."""

from __future__ import annotations

from typing import Any


class FrameError(Exception):
    """A frame the server refuses or cannot process; `code` is stable for programs, `message`
    is for people, `details` (e.g. `retry_after`) travel with both."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.details}

"""Real-time detection for browsers and apps: Socket.IO frames in, detections out.

`attach_realtime` mounts the endpoint on the FastAPI app; `RealtimeServer` speaks Socket.IO;
`FrameProcessor` takes one frame from payload to answer with `FramePayload` (decoding),
`FrameRateLimiter`, `ResultCache` and the detector process behind `ClientDetection`
(`atalaia.pipeline.client_frames`). The protocol is in docs/realtime.md.
"""

from atalaia.realtime.cache import ResultCache, image_key
from atalaia.realtime.errors import FrameError
from atalaia.realtime.mount import SOCKETIO_PATH, attach_realtime
from atalaia.realtime.payload import FrameOptions, FramePayload
from atalaia.realtime.processor import FrameProcessor
from atalaia.realtime.rate_limit import FrameRateLimiter
from atalaia.realtime.socket_server import RealtimeServer

__all__ = [
    "SOCKETIO_PATH",
    "FrameError",
    "FrameOptions",
    "FramePayload",
    "FrameProcessor",
    "FrameRateLimiter",
    "RealtimeServer",
    "ResultCache",
    "attach_realtime",
    "image_key",
]

"""Alert media and the live view: snapshots, clips with pre-roll, `live.jpg`, retention.

For the main process and the API:

- `live_frame_path(data_dir, camera)`: the camera's latest annotated JPEG, rewritten at
  `media.live_fps`; serve it as a file.
- `cleanup_media(media_root(data_dir), max_age_days=..., disk_budget_bytes=...)`, or
  `cleanup_for_config(config)`: retention, to call periodically.
- `MediaPaths(data_dir, camera)`: where an alert's snapshot and clip are.
"""

from atalaia.media.clip_encoder import ClipInfo, encode_clip
from atalaia.media.clip_recorder import ClipRecorder
from atalaia.media.history import EncodedFrame, FrameHistory
from atalaia.media.jpeg import MediaError, encode_jpeg, write_atomic
from atalaia.media.live import LiveFrameWriter
from atalaia.media.overlay import OverlayState, draw_alert, draw_overlay
from atalaia.media.paths import MediaPaths, live_frame_path, media_root
from atalaia.media.retention import CleanupReport, cleanup_for_config, cleanup_media
from atalaia.media.sampler import MediaSampler

__all__ = [
    "CleanupReport",
    "ClipInfo",
    "ClipRecorder",
    "EncodedFrame",
    "FrameHistory",
    "LiveFrameWriter",
    "MediaError",
    "MediaPaths",
    "MediaSampler",
    "OverlayState",
    "cleanup_for_config",
    "cleanup_media",
    "draw_alert",
    "draw_overlay",
    "encode_clip",
    "encode_jpeg",
    "live_frame_path",
    "media_root",
    "write_atomic",
]

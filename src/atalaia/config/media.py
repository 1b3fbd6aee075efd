"""Alert media: snapshots, clips, the live annotated frame, and how long they are kept."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from atalaia.config.base import StrictModel


class MediaConfig(StrictModel):
    """Files under `<data_dir>/media/<camera>/`: one snapshot and one clip per alert, and the
    latest annotated frame (`live.jpg`) for the live view.

    A clip covers `pre_roll` seconds before the alert started and `post_roll` after, whatever
    the alert's length, so its cost is bounded. The pre-roll comes from an in-memory history of
    JPEG frames at `clip_fps` (at most `history_max_mb` per camera).
    """

    snapshots: bool = True
    snapshot_quality: int = Field(85, ge=10, le=100, description="JPEG quality of snapshots")
    clips: bool = True
    pre_roll: float = Field(5.0, ge=0, le=60, description="seconds of clip before the alert")
    post_roll: float = Field(5.0, ge=0.5, le=300, description="seconds of clip after the start")
    clip_fps: float = Field(5.0, ge=0.5, le=30, description="frame rate of history and clips")
    clip_quality: int = Field(75, ge=10, le=100, description="JPEG quality of history frames")
    clip_max_width: int = Field(
        1280, ge=160, le=7680, description="history frames wider than this are scaled down"
    )
    clip_crf: int = Field(28, ge=0, le=51, description="x264 quality of clips (lower: better)")
    history_max_mb: float = Field(64.0, gt=0, le=4096, description="history memory per camera")
    live: bool = True
    live_when: Literal["watched", "always"] = Field(
        "watched",
        description="write live.jpg only while the API serves it to someone (watched: the "
        "default; the first frame after a pause takes up to one live period), or always",
    )
    live_fps: float = Field(2.0, gt=0, le=30, description="rate of writing live.jpg")
    live_quality: int = Field(70, ge=10, le=100)
    retention_days: float = Field(14.0, gt=0, le=3650, description="media older than this goes")
    disk_budget_gb: float = Field(
        10.0, gt=0, le=100_000, description="oldest media goes first beyond this total"
    )
    cleanup_interval_s: float = Field(
        600.0, ge=10, le=86400, description="how often the service applies retention"
    )

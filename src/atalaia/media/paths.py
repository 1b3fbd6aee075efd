"""Where a camera's media lives: `<data_dir>/media/<camera>/`.

```
media/<camera>/live.jpg                              latest annotated frame (overwritten)
media/<camera>/live.watch                            touched by the API while someone watches
media/<camera>/snapshots/<YYYY-MM-DD>/<alert id>.jpg one per alert (its best frame so far)
media/<camera>/clips/<YYYY-MM-DD>/<alert id>.mp4     one per alert, pre-roll + post-roll
```

Dates are UTC days of the alert's start, so retention can drop whole old folders and a person
browsing the tree finds an alert by its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LIVE_NAME = "live.jpg"
WATCH_NAME = "live.watch"


def media_root(data_dir: Path) -> Path:
    return data_dir / "media"


def live_frame_path(data_dir: Path, camera: str) -> Path:
    """The camera's latest annotated JPEG (written atomically, so always whole when read)."""
    return media_root(data_dir) / camera / LIVE_NAME


def live_watch_path(data_dir: Path, camera: str) -> Path:
    """Touched by the API whenever it serves the camera's live frame: its time says whether
    anyone watches (`media.live_when: watched`)."""
    return media_root(data_dir) / camera / WATCH_NAME


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class MediaPaths:
    """A camera's media files. Alerts store these paths, and their readers (the API, sinks)
    look a relative one up under the data directory; so these are absolute, or the default
    relative `data_dir` ("data") would be looked up at `data/data/...` and never found."""

    data_dir: Path
    camera: str

    @property
    def root(self) -> Path:
        return media_root(self.data_dir.absolute()) / self.camera

    @property
    def live(self) -> Path:
        return self.root / LIVE_NAME

    @property
    def live_watch(self) -> Path:
        return self.root / WATCH_NAME

    def snapshot(self, alert_id: str, start_ts: float) -> Path:
        return self.root / "snapshots" / _day(start_ts) / f"{alert_id}.jpg"

    def clip(self, alert_id: str, start_ts: float) -> Path:
        return self.root / "clips" / _day(start_ts) / f"{alert_id}.mp4"

"""Alert snapshots: the frame that comes with an alert event, drawn and written to disk.

The recorder's writer thread calls `write_snapshot` before it commits the event (or moves it to
the spool), so the file exists before any sink hears of the alert. It only draws and writes:
the counting (and the frame budget the queue keeps) is the recorder's, under its lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from atalaia.media.jpeg import MediaError, encode_jpeg, write_atomic
from atalaia.media.overlay import draw_alert

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SnapshotJob:
    """A frame to save as the alert's snapshot (the box is x, y, w, h)."""

    frame: NDArray[np.uint8]
    box: tuple[float, float, float, float]
    caption: str
    path: Path


def write_snapshot(job: SnapshotJob, quality: int) -> bool:
    """Draw the alert's box and caption on the frame and write it as a JPEG (atomic rename).
    False when it could not be written (logged): the event is recorded all the same."""
    try:
        image = draw_alert(job.frame, job.box, job.caption)
        write_atomic(job.path, encode_jpeg(image, quality))
    except (OSError, MediaError) as exc:
        log.error("cannot write snapshot %s: %s", job.path, exc)
        return False
    return True

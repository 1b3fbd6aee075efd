"""Multi-object tracking per camera: stable ids for the objects the detector finds.

`ByteTracker.update(detections, ts)` per detection result; `ByteTracker.tracks()` (or its
`table`) from any thread, never waiting for a match in progress; `Track.box_at(ts)` to draw a
track at a capture time between detections.
"""

from atalaia.track.assignment import Matching, greedy_assignment, linear_assignment
from atalaia.track.byte_tracker import ByteTracker, TrackUpdate
from atalaia.track.iou import box_iou_matrix, iou_cost
from atalaia.track.table import TrackTable
from atalaia.track.track import Track, TrackStatus

__all__ = [
    "ByteTracker",
    "Matching",
    "Track",
    "TrackStatus",
    "TrackTable",
    "TrackUpdate",
    "box_iou_matrix",
    "greedy_assignment",
    "iou_cost",
    "linear_assignment",
]

"""Drawing what the camera knows onto a frame: zones, tracks with their ids, alerts.

Always on a copy: the frame may be a shared-memory slot other readers still need clean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from atalaia.detect.annotate import class_colour
from atalaia.events.types import AlertState
from atalaia.rules.zones import Zone
from atalaia.track import Track

ALERT_COLOUR = (0, 0, 255)  # BGR red
ZONE_COLOUR = (255, 200, 0)
LOST_COLOUR = (160, 160, 160)


@dataclass(frozen=True, slots=True)
class OverlayState:
    """What the live view draws; replaced as a whole after each detection result."""

    tracks: tuple[Track, ...] = ()
    zones: tuple[Zone, ...] = ()
    alerts: tuple[AlertState, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)


def _thickness(image: NDArray[np.uint8]) -> int:
    return max(1, round(min(image.shape[:2]) / 400))


def _label(
    image: NDArray[np.uint8], text: str, x: int, y: int, colour: tuple[int, int, int], t: int
) -> None:
    scale = 0.45 * t
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, t)
    top = max(0, y - h - base)
    cv2.rectangle(image, (x, top), (x + w, top + h + base), colour, -1)
    cv2.putText(image, text, (x, top + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), t,
                cv2.LINE_AA)  # fmt: skip


def draw_overlay(
    frame: NDArray[np.uint8], state: OverlayState, ts: float | None = None
) -> NDArray[np.uint8]:
    """A copy of `frame` with zones, tracks (moved to `ts` if given) and alerts drawn."""
    out = np.ascontiguousarray(frame).copy()
    t = _thickness(out)
    for zone in state.zones:
        pts = np.array(zone.points(), dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], True, ZONE_COLOUR, t, cv2.LINE_AA)
        x, y = zone.points()[0]
        _label(out, zone.name, x, y + 14 * t, ZONE_COLOUR, t)
    alerting = {a.track_id for a in state.alerts if a.track_id is not None}
    for track in state.tracks:
        box = track.box_at(ts) if ts is not None else track.box
        x1, y1, x2, y2 = (round(v) for v in box)
        colour = (
            ALERT_COLOUR
            if track.track_id in alerting
            else LOST_COLOUR
            if track.lost
            else class_colour(track.class_id)
        )
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, t)
        _label(out, f"#{track.track_id} {track.label} {track.score:.2f}", x1, y1, colour, t)
    for alert in state.alerts:
        if alert.track_id is None:  # zone-wide alerts (counts): their combined box
            x, y, w, h = (round(v) for v in alert.box)
            cv2.rectangle(out, (x, y), (x + w, y + h), ALERT_COLOUR, t)
    if state.alerts:
        _label(out, " | ".join(sorted({a.rule for a in state.alerts})), 4, 20 * t, ALERT_COLOUR, t)
    return out


def draw_alert(
    frame: NDArray[np.uint8], box_xywh: Sequence[float], caption: str
) -> NDArray[np.uint8]:
    """A snapshot: the full frame with the alert's box and caption, for context."""
    out = np.ascontiguousarray(frame).copy()
    t = _thickness(out) + 1
    x, y, w, h = (round(v) for v in box_xywh)
    cv2.rectangle(out, (x, y), (x + w, y + h), ALERT_COLOUR, t)
    _label(out, caption, x, y, ALERT_COLOUR, t - 1)
    return out

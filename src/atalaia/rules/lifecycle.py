"""AlertLifecycle: rule conditions in, Frigate-style alert events out.

For each (rule, track) key — (rule, zone) for counts — there is at most one active alert:

- **new** when a rule's condition starts to hold and the key is not cooling down;
- **update** while it holds, when the score beats the last announced top score by at least
  `min_score_gain`, or the rule's extra facts change (a count, the missing equipment), and at
  most once per `min_update_interval` seconds: a sink hears about real changes, never a flood
  from a box jittering in place;
- **end** when the condition stops holding (the object left, crossed back, put its helmet on,
  or the tracker lost it for good), or when the camera stops (`finish`). After an end the key
  cools down for the rule's `cooldown` seconds: no new alert for that object from that rule.

Times are the frames' capture times. The alert's state between updates (latest box and score)
is kept, so the end event carries the final picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from atalaia.events.types import AlertEvent, AlertState, EventType, new_id
from atalaia.rules.base import Box, Key, Observation, Rule

# (camera, alert id, start time) -> (snapshot path, clip path), decided when the alert starts.
MediaPaths = Callable[[str, str, float], tuple[str | None, str | None]]


@dataclass(slots=True)
class _Active:
    state: AlertState  # the latest state, announced or not
    announced: AlertState  # the state the last event carried
    last_event_at: float


def xywh(box: Box) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return (x1, y1, x2 - x1, y2 - y1)


class AlertLifecycle:
    def __init__(
        self,
        camera: str,
        *,
        media_paths: MediaPaths | None = None,
        min_score_gain: float = 0.05,
        min_update_interval: float = 5.0,
    ) -> None:
        self.camera = camera
        self.media_paths = media_paths
        self.min_score_gain = min_score_gain
        self.min_update_interval = min_update_interval
        self._active: dict[tuple[str, Key], _Active] = {}
        self._cooling: dict[tuple[str, Key], float] = {}  # key -> end of its cooldown

    def active(self) -> list[AlertState]:
        """The alerts now active (for drawing and status)."""
        return [a.state for a in self._active.values()]

    def step(self, rule: Rule, holding: dict[Key, Observation], ts: float) -> list[AlertEvent]:
        """Apply one frame's result of `rule`; returns the events it causes, in order."""
        events: list[AlertEvent] = []
        for (name, key), ending in list(self._active.items()):
            if name == rule.name and key not in holding:
                events.append(self._end((name, key), ending, rule.cooldown, ts))
        for key, obs in holding.items():
            full = (rule.name, key)
            active = self._active.get(full)
            if active is None:
                if self._cooling.get(full, float("-inf")) > ts:
                    continue
                self._cooling.pop(full, None)
                events.append(self._new(full, rule, obs, ts))
            else:
                event = self._maybe_update(active, obs, ts)
                if event is not None:
                    events.append(event)
        if len(self._cooling) > 4 * max(16, len(self._active)):
            self._cooling = {k: until for k, until in self._cooling.items() if until > ts}
        return events

    def finish(self, ts: float) -> list[AlertEvent]:
        """End every active alert: the camera is stopping, so nothing will end them later."""
        return [self._end(k, a, 0.0, ts) for k, a in list(self._active.items())]

    # ---- transitions --------------------------------------------------------------------

    def _new(self, key: tuple[str, Key], rule: Rule, obs: Observation, ts: float) -> AlertEvent:
        alert_id = new_id()
        snapshot, clip = (
            self.media_paths(self.camera, alert_id, ts) if self.media_paths else (None, None)
        )
        state = AlertState(
            id=alert_id,
            camera=self.camera,
            label=obs.label,
            rule=rule.name,
            rule_type=rule.type,
            zone=rule.zone,
            score=obs.score,
            top_score=obs.score,
            box=xywh(obs.box),
            track_id=obs.track_id,
            start_time=ts,
            snapshot_path=snapshot,
            clip_path=clip,
            extra=dict(obs.extra),
        )
        self._active[key] = _Active(state, state, ts)
        return AlertEvent("new", after=state, before=None, created_at=ts)

    def _maybe_update(self, active: _Active, obs: Observation, ts: float) -> AlertEvent | None:
        state = active.state.evolve(
            score=obs.score,
            top_score=max(active.state.top_score, obs.score),
            box=xywh(obs.box),
            label=obs.label,
            extra=dict(obs.extra),
        )
        active.state = state
        gained = state.top_score >= active.announced.top_score + self.min_score_gain
        changed = state.extra != active.announced.extra
        if not (gained or changed) or ts - active.last_event_at < self.min_update_interval:
            return None
        return self._announce(active, "update", state, ts)

    def _end(self, key: tuple[str, Key], active: _Active, cooldown: float, ts: float) -> AlertEvent:
        del self._active[key]
        if cooldown > 0:
            self._cooling[key] = ts + cooldown
        return self._announce(active, "end", active.state.evolve(end_time=ts), ts)

    @staticmethod
    def _announce(active: _Active, kind: EventType, state: AlertState, ts: float) -> AlertEvent:
        event = AlertEvent(kind, after=state, before=active.announced, created_at=ts)
        active.state = active.announced = state
        active.last_event_at = ts
        return event

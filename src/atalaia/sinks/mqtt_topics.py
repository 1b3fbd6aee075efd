"""Topic names and Home Assistant discovery documents of the MQTT sink.

The topics follow Frigate's, under our own prefix, so tools written for Frigate read ours:
`<prefix>/events` (new/update/end with before/after), `<prefix>/<camera>/<label>` (how many
alerts of that label are active), `<prefix>/<camera>/<label>/snapshot` (JPEG),
`<prefix>/<camera>/motion` (ON while any alert is active on the camera) and
`<prefix>/available` (online/offline, retained, offline also as the last will).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_UNSAFE_ID = re.compile(r"[^a-zA-Z0-9_-]+")


def safe_id(*parts: str) -> str:
    """An identifier Home Assistant accepts as an object id: letters, digits, `_` and `-`."""
    return _UNSAFE_ID.sub("_", "_".join(parts)).strip("_")


@dataclass(frozen=True, slots=True)
class MqttTopics:
    prefix: str
    discovery_prefix: str

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def available(self) -> str:
        return f"{self.prefix}/available"

    def count(self, camera: str, label: str) -> str:
        return f"{self.prefix}/{camera}/{label}"

    def snapshot(self, camera: str, label: str) -> str:
        return f"{self.prefix}/{camera}/{label}/snapshot"

    def motion(self, camera: str) -> str:
        return f"{self.prefix}/{camera}/motion"

    def _device(self, camera: str) -> dict[str, Any]:
        return {
            "identifiers": [safe_id(self.prefix, camera)],
            "name": camera,
            "manufacturer": "atalaia",
            "model": "camera",
        }

    def _common(self, camera: str) -> dict[str, Any]:
        return {
            "availability_topic": self.available,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": self._device(camera),
        }

    def camera_discovery(self, camera: str) -> list[tuple[str, dict[str, Any]]]:
        """(config topic, document) for a camera's motion binary sensor."""
        object_id = safe_id(self.prefix, camera, "motion")
        return [
            (
                f"{self.discovery_prefix}/binary_sensor/{object_id}/config",
                {
                    "name": "Motion",
                    "unique_id": object_id,
                    "state_topic": self.motion(camera),
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "device_class": "motion",
                    **self._common(camera),
                },
            )
        ]

    def label_discovery(self, camera: str, label: str) -> list[tuple[str, dict[str, Any]]]:
        """(config topic, document) for a label's occupancy binary sensor and count sensor."""
        occupancy = safe_id(self.prefix, camera, label, "occupancy")
        count = safe_id(self.prefix, camera, label, "count")
        return [
            (
                f"{self.discovery_prefix}/binary_sensor/{occupancy}/config",
                {
                    "name": f"{label} occupancy",
                    "unique_id": occupancy,
                    "state_topic": self.count(camera, label),
                    "value_template": "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}",
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "device_class": "occupancy",
                    **self._common(camera),
                },
            ),
            (
                f"{self.discovery_prefix}/sensor/{count}/config",
                {
                    "name": f"{label} count",
                    "unique_id": count,
                    "state_topic": self.count(camera, label),
                    "state_class": "measurement",
                    "unit_of_measurement": label,
                    **self._common(camera),
                },
            ),
        ]

"""Builders for test rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from atalaia.storage.models import Alert
from tests.storage.conftest import T0


def make_alert(camera_id: str = "cam1", *, start_time: datetime = T0, **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "label": "person",
        "rule": "intrusion",
        "score": 0.9,
        "box": [10.0, 20.0, 110.0, 220.0],
        **fields,
    }
    return Alert(camera_id=camera_id, start_time=start_time, **values)

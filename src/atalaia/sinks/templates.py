"""The fields an alert event offers to user templates (routing keys, Frigate sub-labels)."""

from __future__ import annotations

from atalaia.events.types import AlertEvent


def template_fields(event: AlertEvent) -> dict[str, str]:
    after = event.after
    return {
        "camera": after.camera,
        "label": after.label,
        "type": event.type,
        "rule": after.rule,
        "rule_type": after.rule_type,
        "zone": after.zone or "",
    }


def render(template: str, event: AlertEvent) -> str:
    """The template filled from `event`; the config validated its field names already."""
    return template.format(**template_fields(event))

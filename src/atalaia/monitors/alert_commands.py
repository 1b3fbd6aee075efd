"""Which alerts make the board do what: the `alert_commands` entries of the serial monitor.

Kept apart from the port handling so the rule ("a missing helmet at the press sounds the
siren") can be read and tested as plain data, with no port in sight.
"""

from __future__ import annotations

from atalaia.config.monitors import AlertMatchConfig, SerialAlertCommand, SerialCommandConfig
from atalaia.events.types import AlertEvent


def alert_matches(match: AlertMatchConfig, event: AlertEvent) -> bool:
    """True when every field the match sets agrees with the alert (any value of a list)."""
    if event.type not in match.events:
        return False
    alert = event.after
    wanted: list[tuple[list[str] | None, str | None]] = [
        (match.camera, alert.camera),
        (match.label, alert.label),
        (match.rule, alert.rule),
        (match.rule_type, alert.rule_type),
        (match.zone, alert.zone),
    ]
    return all(allowed is None or actual in allowed for allowed, actual in wanted)


def commands_for(event: AlertEvent, entries: list[SerialAlertCommand]) -> list[SerialCommandConfig]:
    """The commands of every matching entry, in configuration order."""
    return [entry.command for entry in entries if alert_matches(entry.match, event)]

"""Level names as the configuration spells them, turned into the numbers `logging` compares."""

from __future__ import annotations

import logging

_LEVELS = {
    "CRITICAL": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
}


def parse_level(level: str) -> int:
    """Return the numeric level for `level` (any case).

    `logging.getLevelName` would quietly accept a misspelt name and return the string
    "Level X"; a misspelt level in the configuration must fail at start instead.
    """
    try:
        return _LEVELS[level.strip().upper()]
    except KeyError:
        names = ", ".join(_LEVELS)
        raise ValueError(f"unknown log level {level!r}; expected one of {names}") from None

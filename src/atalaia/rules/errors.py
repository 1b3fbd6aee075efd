"""Errors in a camera's rules that can only be found once the camera runs."""

from __future__ import annotations


class RuleConfigError(ValueError):
    """A rule cannot work with this camera's model or frames (the message says which and why)."""

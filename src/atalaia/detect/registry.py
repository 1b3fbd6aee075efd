"""Detector plugins by configuration `type`, as Frigate picks its detectors.

A plugin module defines its config model and registers its detector (usually the class itself,
whose constructor takes that config) with `@register_detector(TheConfig)`. The registry is
`DETECTOR_PLUGINS` (`atalaia.config.detectors`); built-in plugins are imported only when their
type is asked for, so the face plugin and its optional dependency cost nothing to a deployment
that never uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from atalaia.config.detectors import DETECTOR_PLUGINS, DetectorBase
from atalaia.detect.errors import DetectorConfigError
from atalaia.detect.protocol import Detector
from atalaia.plugins import UnknownPluginError

DetectorFactory = Callable[[Any], Detector]
F = TypeVar("F", bound=DetectorFactory)


def register_detector(config: type[DetectorBase]) -> Callable[[F], F]:
    """Class decorator: make `type: <config's type>` in configuration validate with `config`
    and build this detector."""

    def register(factory: F) -> F:
        DETECTOR_PLUGINS.register(config, factory)
        return factory

    return register


def build_detector(config: DetectorBase) -> Detector:
    """Load the detector a configuration entry describes (the model is loaded here, once)."""
    try:
        factory = DETECTOR_PLUGINS.implementation(config.type)
    except UnknownPluginError as exc:
        known = ", ".join(exc.known)
        raise DetectorConfigError(
            f"unknown detector type '{config.type}' (known: {known})"
        ) from None
    return factory(config)

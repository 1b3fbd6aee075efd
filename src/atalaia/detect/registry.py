"""Detector plugins by configuration `type`, as Frigate picks its detectors.

A plugin module registers a factory (usually the detector class itself, whose constructor
takes its configuration) with `@register_detector("name")`. Built-in plugins are imported only
when their type is asked for, so the face plugin and its optional dependency cost nothing to a
deployment that never uses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from atalaia.config.detectors import DetectorConfig
from atalaia.detect.errors import DetectorConfigError
from atalaia.detect.protocol import Detector

DetectorFactory = Callable[[Any], Detector]
F = TypeVar("F", bound=DetectorFactory)

_BUILTIN_MODULES = {
    "onnx": "atalaia.detect.onnx_detector",
    "scrfd": "atalaia.detect.scrfd",
}
_factories: dict[str, DetectorFactory] = {}


def register_detector(type_name: str) -> Callable[[F], F]:
    """Class decorator: make `type: <type_name>` in configuration build this detector."""

    def register(factory: F) -> F:
        _factories[type_name] = factory
        return factory

    return register


def build_detector(config: DetectorConfig) -> Detector:
    """Load the detector a configuration entry describes (the model is loaded here, once)."""
    type_name = config.type
    if type_name not in _factories and type_name in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[type_name])
    factory = _factories.get(type_name)
    if factory is None:
        known = sorted({*_BUILTIN_MODULES, *_factories})
        raise DetectorConfigError(
            f"unknown detector type '{type_name}' (known: {', '.join(known)})"
        )
    return factory(config)

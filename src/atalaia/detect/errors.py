"""Exceptions raised by the detection engine.

Every failure the engine can foresee (a bad frame, a model file it cannot use, a configuration
that cannot work with the loaded model) is one of these, with a message that names the thing at
fault. The detector process catches `DetectorError` per request, answers that request with the
error and carries on: one bad frame must never take down the model shared by every camera.
"""

from __future__ import annotations


class DetectorError(Exception):
    """Base class of every error the detection engine raises on purpose."""


class InvalidFrameError(DetectorError, ValueError):
    """A frame handed to `Detector.detect` is not a usable BGR uint8 image."""


class ModelLoadError(DetectorError):
    """A model (or its labels file) is missing, unreadable, or not in a supported format."""


class DetectorConfigError(DetectorError, ValueError):
    """The configuration cannot work with the model: unknown class names, missing PPE classes."""


class InferenceError(DetectorError):
    """The inference runtime failed on an input that passed validation."""


class WireFormatError(DetectorError, ValueError):
    """Bytes given to `Detections.from_wire` are not a detections message."""

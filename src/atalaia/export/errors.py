"""Why an export could not be done, in words a user can act on."""

from __future__ import annotations


class ExportError(Exception):
    """The checkpoint cannot be exported as asked; the message names the file and the cause."""


class ExportExtraMissing(ExportError):
    """torch, ultralytics or the ONNX tools are not installed: the `export` extra is needed."""

"""Turning ultralytics checkpoints into ONNX models the runtime reads (`atalaia models export`).

Everything here that needs torch or ultralytics imports them inside functions, and only this
package does: the runtime (`atalaia run`, the detector process) never loads them. They come
with the optional `export` extra, whose ultralytics is AGPL-3.0 (docs/models.md).
"""

from atalaia.export.errors import ExportError, ExportExtraMissing
from atalaia.export.extra import EXPORT_EXTRA, require_export_extra

__all__ = ["EXPORT_EXTRA", "ExportError", "ExportExtraMissing", "require_export_extra"]

"""Whether the optional `export` extra is installed, and what to say when it is not.

The check imports the packages rather than only looking them up: a half-installed torch (a
wheel for another Python, a missing shared library) fails here with its own message instead
of deep inside an export.
"""

from __future__ import annotations

import importlib

from atalaia.export.errors import ExportExtraMissing

EXPORT_EXTRA = "atalaia[export]"
# Import name -> distribution, in the order they are needed.
_PACKAGES = {
    "torch": "torch",
    "ultralytics": "ultralytics-opencv-headless",
    "onnx": "onnx",
    "onnxslim": "onnxslim",
}


def require_export_extra() -> None:
    """Raise `ExportExtraMissing` naming every missing package and the extra to install."""
    missing: list[str] = []
    for module, distribution in _PACKAGES.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing.append(f"{distribution} ({exc})")
    if missing:
        raise ExportExtraMissing(
            f"exporting checkpoints needs the '{EXPORT_EXTRA.split('[')[1].rstrip(']')}' extra: "
            f"pip install '{EXPORT_EXTRA}' (torch CPU + ultralytics, which is AGPL-3.0). "
            f"Missing: {'; '.join(missing)}"
        )

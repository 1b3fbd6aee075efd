"""A real PPE model for the rule tests: helmet-detector's checkpoint exported to ONNX by the
real `atalaia models export`, once, and kept in pytest's cache between runs (the export takes
half a minute; the checkpoint's size and time stamp name the cached file, so a new checkpoint
is exported again). Missing pieces skip here and fail in CI, as in tests/export."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.conftest import helmet_checkpoint, needs_export_extra, run_atalaia


@pytest.fixture(scope="session")
def helmet_onnx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """helmet-detector's YOLOv12m as ONNX: classes With Helmet / Without Helmet (AGPL-3.0)."""
    needs_export_extra()
    checkpoint = helmet_checkpoint()
    stat = checkpoint.stat()
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("atalaia-helmet-onnx") if cache is not None else None
    folder = Path(folder) if folder is not None else tmp_path_factory.mktemp("helmet")
    out = folder / f"helmet-{stat.st_size}-{int(stat.st_mtime)}.onnx"
    if not out.is_file():
        partial = out.with_suffix(".partial.onnx")
        done = run_atalaia("models", "export", str(checkpoint), "--out", str(partial))
        assert done.returncode == 0, done.stderr
        partial.replace(out)
    return out

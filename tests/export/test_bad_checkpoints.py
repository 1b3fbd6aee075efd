"""Checkpoints that cannot be exported fail with one line naming the file, and write nothing."""

from __future__ import annotations

from pathlib import Path

from .conftest import needs_export_extra, run_atalaia


def test_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    needs_export_extra()
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"not a pickle at all\n" * 10)
    done = run_atalaia("models", "export", str(checkpoint), timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        f"atalaia models export: error: {checkpoint}: cannot load it as an ultralytics checkpoint"
    )
    assert "atalaia-export-" not in line  # the temporary link is not what the user gave
    assert not (tmp_path / "best.onnx").exists()

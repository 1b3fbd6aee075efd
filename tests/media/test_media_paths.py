"""Alert media paths are absolute: alerts store them, and their readers (the API, sinks) look a
relative one up under the data directory, where a path relative to the working directory
(the default `data_dir: data`) would never be found."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.media import MediaPaths


def test_paths_under_a_relative_data_dir_are_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    paths = MediaPaths(Path("data"), "demo")
    snapshot = paths.snapshot("abc", 0.0)
    assert snapshot == tmp_path / "data" / "media" / "demo" / "snapshots" / "1970-01-01" / "abc.jpg"
    assert paths.clip("abc", 0.0).is_absolute() and paths.live.is_absolute()

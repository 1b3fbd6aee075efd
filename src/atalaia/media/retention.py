"""Media retention: alert snapshots and clips go when too old, then oldest first while the
total is over the disk budget.

The main process calls `cleanup_media` periodically (every few minutes is plenty); it touches
only `snapshots/` and `clips/` under each camera (never `live.jpg`), removes day folders left
empty, and also clears temporary files that a killed writer left behind. Alert rows keep their
paths: a consumer finding a file gone knows it was retired, not lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atalaia.config import AtalaiaConfig

log = logging.getLogger(__name__)

MEDIA_KINDS = ("snapshots", "clips")
STALE_TMP_S = 3600.0


@dataclass(frozen=True, slots=True)
class CleanupReport:
    removed_files: int
    removed_bytes: int
    kept_files: int
    kept_bytes: int
    errors: int


def _media_files(root: Path) -> list[tuple[float, int, Path]]:
    found: list[tuple[float, int, Path]] = []
    if not root.is_dir():
        return found
    for camera in root.iterdir():
        for kind in MEDIA_KINDS:
            base = camera / kind
            if not base.is_dir():
                continue
            for dirpath, _dirs, files in os.walk(base):
                for name in files:
                    path = Path(dirpath) / name
                    try:
                        st = path.stat()
                    except OSError:
                        continue
                    found.append((st.st_mtime, st.st_size, path))
    return found


def cleanup_media(
    media_root: Path,
    *,
    max_age_days: float,
    disk_budget_bytes: int,
    now: float | None = None,
) -> CleanupReport:
    """Delete media older than `max_age_days`, then the oldest until within the budget."""
    now = time.time() if now is None else now
    cutoff = now - max_age_days * 86400
    removed = removed_bytes = errors = 0
    kept: list[tuple[float, int, Path]] = []

    def remove(path: Path, size: int) -> bool:
        nonlocal removed, removed_bytes, errors
        try:
            path.unlink()
        except FileNotFoundError:
            return True
        except OSError as exc:
            errors += 1
            log.warning("cannot remove %s: %s", path, exc)
            return False
        removed += 1
        removed_bytes += size
        return True

    # First what is too old (and temporary files a killed writer left), then, oldest first,
    # whatever takes the rest over the budget.
    for mtime, size, path in sorted(_media_files(media_root)):
        temporary = path.name.startswith(".") and path.suffix in (".tmp", ".mp4")
        if (mtime < cutoff or (temporary and mtime < now - STALE_TMP_S)) and remove(path, size):
            continue
        kept.append((mtime, size, path))
    total = sum(size for _, size, _ in kept)
    survivors: list[tuple[float, int, Path]] = []
    for mtime, size, path in kept:
        if total > disk_budget_bytes and remove(path, size):
            total -= size
            continue
        survivors.append((mtime, size, path))
    kept = survivors
    _remove_empty_dirs(media_root)
    if removed:
        log.info("media retention removed %d files (%.1f MB)", removed, removed_bytes / 2**20)
    return CleanupReport(removed, removed_bytes, len(kept), sum(s for _, s, _ in kept), errors)


def _remove_empty_dirs(media_root: Path) -> None:
    if not media_root.is_dir():
        return
    for camera in media_root.iterdir():
        for kind in MEDIA_KINDS:
            base = camera / kind
            if not base.is_dir():
                continue
            # Bottom-up, so a day folder emptied of its files goes, then nothing above base.
            for dirpath, _dirs, _files in os.walk(base, topdown=False):
                if Path(dirpath) != base:
                    with contextlib.suppress(OSError):  # not empty: kept
                        os.rmdir(dirpath)


def cleanup_for_config(config: AtalaiaConfig) -> CleanupReport:
    """Retention with the configured `media.retention_days` and `media.disk_budget_gb`."""
    from atalaia.media.paths import media_root

    return cleanup_media(
        media_root(config.data_dir),
        max_age_days=config.media.retention_days,
        disk_budget_bytes=int(config.media.disk_budget_gb * 2**30),
    )

"""Live view: each camera's latest annotated frame, as one JPEG or as an MJPEG stream.

Camera processes write the annotated frame to a file at a capped rate (`media.live`); viewers
only read that file, at most `fps` times a second each, so any number of viewers costs the
cameras nothing and a slow viewer only slows itself. With `media.live_when: watched` (the
default) a camera writes it only while someone watches: serving it touches the camera's
`live.watch` (at most once a second), and a request that finds the frame stale waits up to a
live period and a second for a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from atalaia.api.auth import require_token
from atalaia.api.peers import from_peers, may_forward, peers
from atalaia.media.paths import live_frame_path, live_watch_path
from atalaia.storage.cameras import CAMERA_ID

router = APIRouter(prefix="/api/cameras", tags=["live"], dependencies=[Depends(require_token)])
BOUNDARY = "atalaia-frame"
TOUCH_EVERY_S = 1.0
FRESH_POLL_S = 0.05
_touched: dict[Path, float] = {}  # watch file -> monotonic time of its last touch here


def _checked(camera_id: str) -> str:
    if not CAMERA_ID.fullmatch(camera_id):  # the id becomes a path: nothing but a plain name
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id!r}")
    return camera_id


def _live_path(request: Request, camera_id: str) -> Path:
    return live_frame_path(request.app.state.config.data_dir, _checked(camera_id))


def _on_demand(request: Request) -> bool:
    return bool(request.app.state.config.media.live_when == "watched")


def _watching(request: Request, camera_id: str) -> None:
    """Tell the camera process someone watches it: touch its watch file (at most once a
    second; a failure only means the frame may be stale)."""
    if not _on_demand(request):
        return
    path = live_watch_path(request.app.state.config.data_dir, camera_id)
    now = time.monotonic()
    if now - _touched.get(path, float("-inf")) < TOUCH_EVERY_S:
        return
    _touched[path] = now
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


async def _fresh(request: Request, path: Path) -> tuple[float, bytes] | None:
    """The live frame, waiting (up to a live period and a second) for a fresh one when the
    file is missing or older than two periods: the camera starts writing once watched."""
    found = await asyncio.to_thread(_read, path)
    if not _on_demand(request):
        return found
    period = 1.0 / float(request.app.state.config.media.live_fps)
    if found is not None and time.time() - found[0] <= max(2 * period, 1.0):
        return found
    deadline = time.monotonic() + period + 1.0
    while time.monotonic() < deadline:
        await asyncio.sleep(FRESH_POLL_S)
        newer = await asyncio.to_thread(_read, path)
        if newer is not None and (found is None or newer[0] != found[0]):
            return newer
    return found


def _read(path: Path) -> tuple[float, bytes] | None:
    try:
        stat = path.stat()
        return stat.st_mtime, path.read_bytes()
    except OSError:
        return None


async def _from_holder(request: Request, camera_id: str) -> Response | None:
    """In a cluster, for a camera another node runs: the same request answered by that node
    (only the lease holder has its current frames). None when this node runs it or the
    holder does not answer."""
    if not may_forward(request):
        return None
    pipeline = request.app.state.manager.pipeline
    if pipeline is not None and camera_id in pipeline.cameras:
        return None
    holder = [peer for peer in await peers(request, camera_id) if peer.holds_camera]
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return await from_peers(request, path, holder)


@router.get("/{camera_id}/latest.jpg", summary="The camera's latest annotated frame")
async def latest(camera_id: str, request: Request) -> Response:
    proxied = await _from_holder(request, _checked(camera_id))
    if proxied is not None:
        return proxied
    await asyncio.to_thread(_watching, request, camera_id)
    found = await _fresh(request, _live_path(request, camera_id))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no frame from this camera yet")
    return Response(found[1], media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get(
    "/{camera_id}/live.mjpeg", summary="MJPEG stream of annotated frames, capped per viewer"
)
async def live(
    camera_id: str,
    request: Request,
    fps: Annotated[
        float, Query(gt=0, le=30, description="frames per second for this viewer")
    ] = 2.0,
) -> Response:
    proxied = await _from_holder(request, _checked(camera_id))
    if proxied is not None:
        return proxied
    path = _live_path(request, camera_id)
    await asyncio.to_thread(_watching, request, camera_id)
    if await _fresh(request, path) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no frame from this camera yet")
    cap = min(fps, float(request.app.state.config.server.live_max_fps))

    async def frames() -> AsyncIterator[bytes]:
        last = 0.0
        while not await request.is_disconnected():
            _watching(request, camera_id)
            found = await asyncio.to_thread(_read, path)
            if found is not None and found[0] != last:
                last = found[0]
                yield (
                    (
                        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(found[1])}\r\n\r\n"
                    ).encode()
                    + found[1]
                    + b"\r\n"
                )
            await asyncio.sleep(1.0 / cap)

    return StreamingResponse(
        frames(),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )

"""Cameras, their zones and their rules, managed live: a change reaches the running camera
processes through the reconciler within seconds, without restarting the service."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import ValidationError

from atalaia.api.auth import require_token
from atalaia.config import CameraConfig, ZoneConfig
from atalaia.config.cameras import RuleConfig
from atalaia.redact import mask_url
from atalaia.service import camera_store
from atalaia.service.manager import BackgroundManager

UNPROCESSABLE = 422  # named differently across Starlette versions

router = APIRouter(prefix="/api/cameras", tags=["cameras"], dependencies=[Depends(require_token)])


def _manager(request: Request) -> BackgroundManager:
    manager: BackgroundManager = request.app.state.manager
    return manager


def public(camera: CameraConfig, manager: BackgroundManager) -> dict[str, Any]:
    """A camera as the API shows it: password masked, with its live state when running."""
    data = camera.model_dump(mode="json")
    data["source"]["url"] = mask_url(camera.source.url)
    pipeline = manager.pipeline_status()
    state = pipeline.get("cameras", {}).get(camera.id)
    data["status"] = {
        "running": state is not None,
        "process": state.get("state") if state else None,
        "reader": (state or {}).get("stats", {}).get("reader", {}).get("state"),
        "restarts": state.get("restarts") if state else None,
    }
    return data


async def _existing(manager: BackgroundManager, camera_id: str) -> CameraConfig:
    camera = await asyncio.to_thread(camera_store.load, manager.database, camera_id)
    if camera is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id!r}")
    return camera


async def _store(manager: BackgroundManager, camera: CameraConfig) -> dict[str, Any]:
    if camera.detect.enabled and camera.detect.detector not in manager.config.detectors:
        known = ", ".join(sorted(manager.config.detectors))
        raise HTTPException(
            UNPROCESSABLE,
            f"detect.detector: unknown detector {camera.detect.detector!r}; "
            f"expected one of: {known}",
        )
    await asyncio.to_thread(camera_store.save, manager.database, camera)
    manager.cameras_changed()
    return public(camera, manager)


@router.get("", summary="List cameras")
async def list_cameras(request: Request) -> list[dict[str, Any]]:
    manager = _manager(request)
    cameras = await asyncio.to_thread(camera_store.load_all, manager.database)
    return [public(c, manager) for c in cameras]


@router.get("/{camera_id}", summary="One camera")
async def get_camera(camera_id: str, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    return public(await _existing(manager, camera_id), manager)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a camera")
async def create_camera(camera: CameraConfig, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    if await asyncio.to_thread(camera_store.load, manager.database, camera.id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"camera {camera.id!r} already exists")
    return await _store(manager, camera)


@router.put("/{camera_id}", summary="Replace a camera's configuration (restarts only that camera)")
async def replace_camera(camera_id: str, camera: CameraConfig, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    if camera.id != camera_id:
        raise HTTPException(UNPROCESSABLE, "id: must match the URL")
    old = await _existing(manager, camera_id)
    url = camera_store.keep_masked_password(camera.source.url, old.source.url)
    camera = camera.model_copy(update={"source": camera.source.model_copy(update={"url": url})})
    return await _store(manager, camera)


@router.delete("/{camera_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a camera")
async def delete_camera(camera_id: str, request: Request) -> Response:
    manager = _manager(request)
    if not await asyncio.to_thread(camera_store.remove, manager.database, camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id!r}")
    manager.cameras_changed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _with(manager: BackgroundManager, camera_id: str, **changes: Any) -> dict[str, Any]:
    old = await _existing(manager, camera_id)
    try:
        camera = CameraConfig.model_validate({**old.model_dump(mode="json"), **changes})
    except ValidationError as exc:
        raise HTTPException(
            UNPROCESSABLE,
            [{"loc": e["loc"], "msg": e["msg"]} for e in exc.errors(include_url=False)],
        ) from None
    camera = camera.model_copy(update={"source": old.source})
    return await _store(manager, camera)


@router.get("/{camera_id}/zones", summary="A camera's zones")
async def get_zones(camera_id: str, request: Request) -> list[dict[str, Any]]:
    camera = await _existing(_manager(request), camera_id)
    return [z.model_dump(mode="json") for z in camera.zones]


@router.put("/{camera_id}/zones", summary="Replace a camera's zones")
async def put_zones(
    camera_id: str, zones: list[ZoneConfig], request: Request
) -> list[dict[str, Any]]:
    camera = await _with(
        _manager(request), camera_id, zones=[z.model_dump(mode="json") for z in zones]
    )
    result: list[dict[str, Any]] = camera["zones"]
    return result


@router.get("/{camera_id}/rules", summary="A camera's rules")
async def get_rules(camera_id: str, request: Request) -> list[dict[str, Any]]:
    camera = await _existing(_manager(request), camera_id)
    return [r.model_dump(mode="json") for r in camera.rules]


@router.put("/{camera_id}/rules", summary="Replace a camera's rules")
async def put_rules(
    camera_id: str, rules: list[RuleConfig], request: Request
) -> list[dict[str, Any]]:
    camera = await _with(
        _manager(request), camera_id, rules=[r.model_dump(mode="json") for r in rules]
    )
    result: list[dict[str, Any]] = camera["rules"]
    return result

"""Cameras, their zones and their rules, managed live: a change reaches the running camera
processes through the reconciler within seconds, without restarting the service.

Bodies are validated in a worker thread (`atalaia.api.bodies`): a large camera never holds up
the event loop that answers health checks and delivers alerts."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi import Path as FastApiPath
from pydantic import TypeAdapter, ValidationError

from atalaia.api.auth import require_token
from atalaia.api.bodies import LazyBody, validated_body, validation_detail
from atalaia.config import CameraConfig, ZoneConfig
from atalaia.config.cameras import MAX_RULES_PER_CAMERA, MAX_ZONES_PER_CAMERA, RuleConfig
from atalaia.pipeline.snapshots import camera_snapshot
from atalaia.redact import mask_url
from atalaia.service import camera_store
from atalaia.service.manager import BackgroundManager

UNPROCESSABLE = 422  # named differently across Starlette versions

router = APIRouter(prefix="/api/cameras", tags=["cameras"], dependencies=[Depends(require_token)])

CameraId = Annotated[str, FastApiPath(min_length=1, max_length=64, description="the camera's id")]
# Made again with each OpenAPI document: rule and sink types registered after this import
# (a deployment's own) are in them too.
_CAMERA_BODY = LazyBody(CameraConfig.model_json_schema)
_ZONES_BODY = LazyBody(
    lambda: {**TypeAdapter(list[ZoneConfig]).json_schema(), "maxItems": MAX_ZONES_PER_CAMERA}
)
_RULES_BODY = LazyBody(
    lambda: {**TypeAdapter(list[RuleConfig]).json_schema(), "maxItems": MAX_RULES_PER_CAMERA}
)


def _manager(request: Request) -> BackgroundManager:
    manager: BackgroundManager = request.app.state.manager
    return manager


def public(camera: CameraConfig, manager: BackgroundManager) -> dict[str, Any]:
    """A camera as the API shows it: password masked, with its live state when running."""
    data = camera.model_dump(mode="json")
    data["source"]["url"] = mask_url(camera.source.url)
    pipeline = manager.pipeline_status()
    state = pipeline.get("cameras", {}).get(camera.id)
    stats = camera_snapshot(state)
    data["status"] = {
        "running": state is not None,
        "process": state.get("state") if state else None,
        "reader": stats.reader.state.value if stats is not None else None,
        "restarts": state.get("restarts") if state else None,
    }
    return data


async def _existing(manager: BackgroundManager, camera_id: str) -> CameraConfig:
    camera = await asyncio.to_thread(camera_store.load, manager.database, camera_id)
    if camera is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id!r}")
    return camera


async def _store(manager: BackgroundManager, camera: CameraConfig) -> dict[str, Any]:
    for j, name in enumerate(camera.detect.detector_names if camera.detect.enabled else []):
        if name not in manager.config.detectors:
            known = ", ".join(sorted(manager.config.detectors))
            key = f"detectors[{j}]" if camera.detect.detectors is not None else "detector"
            raise HTTPException(
                UNPROCESSABLE,
                f"detect.{key}: unknown detector {name!r}; expected one of: {known}",
            )
    await asyncio.to_thread(camera_store.save, manager.database, camera)
    # It reads every enabled camera back from the database: not on the event loop.
    await asyncio.to_thread(manager.cameras_changed)
    return public(camera, manager)


@router.get("", summary="List cameras")
async def list_cameras(request: Request) -> list[dict[str, Any]]:
    manager = _manager(request)
    cameras = await asyncio.to_thread(camera_store.load_all, manager.database)
    return [public(c, manager) for c in cameras]


@router.get("/{camera_id}", summary="One camera")
async def get_camera(camera_id: CameraId, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    return public(await _existing(manager, camera_id), manager)


def _camera(data: Any, body_at: tuple[str, ...] = ()) -> CameraConfig:
    """A camera validated from request data, or a 422 with each problem at its key."""
    try:
        return CameraConfig.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(
            UNPROCESSABLE, validation_detail(exc, CameraConfig, data, body_at)
        ) from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a camera",
    openapi_extra=_CAMERA_BODY,
)
async def create_camera(request: Request) -> dict[str, Any]:
    manager = _manager(request)
    camera = await validated_body(request, _camera)
    if await asyncio.to_thread(camera_store.load, manager.database, camera.id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"camera {camera.id!r} already exists")
    return await _store(manager, camera)


@router.put(
    "/{camera_id}",
    summary="Replace a camera's configuration (restarts only that camera)",
    openapi_extra=_CAMERA_BODY,
)
async def replace_camera(camera_id: CameraId, request: Request) -> dict[str, Any]:
    manager = _manager(request)
    camera = await validated_body(request, _camera)
    if camera.id != camera_id:
        raise HTTPException(UNPROCESSABLE, "id: must match the URL")
    old = await _existing(manager, camera_id)
    url = camera_store.keep_masked_password(camera.source.url, old.source.url)
    camera = camera.model_copy(update={"source": camera.source.model_copy(update={"url": url})})
    return await _store(manager, camera)


@router.delete("/{camera_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a camera")
async def delete_camera(camera_id: CameraId, request: Request) -> Response:
    manager = _manager(request)
    if not await asyncio.to_thread(camera_store.remove, manager.database, camera_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no camera {camera_id!r}")
    # It reads every enabled camera back from the database: not on the event loop.
    await asyncio.to_thread(manager.cameras_changed)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _with_body(request: Request, camera_id: str, key: str) -> dict[str, Any]:
    """Replace one part (`zones`, `rules`) of a stored camera with the request body, validated
    as part of the whole camera so cross-references (a rule's zone) are checked too."""
    manager = _manager(request)
    old = await _existing(manager, camera_id)
    current = old.model_dump(mode="json")
    camera = await validated_body(request, lambda part: _camera({**current, key: part}, (key,)))
    camera = camera.model_copy(update={"source": old.source})
    return await _store(manager, camera)


def _part_routes(key: str, body: dict[str, Any]) -> None:
    """GET and PUT for one part (`zones`, `rules`) of a stored camera; the route names are the
    ones the OpenAPI operation ids were made from when each route was written out by hand."""

    async def get_part(camera_id: CameraId, request: Request) -> list[dict[str, Any]]:
        camera = await _existing(_manager(request), camera_id)
        return [item.model_dump(mode="json") for item in getattr(camera, key)]

    async def put_part(camera_id: CameraId, request: Request) -> list[dict[str, Any]]:
        camera = await _with_body(request, camera_id, key)
        result: list[dict[str, Any]] = camera[key]
        return result

    path = f"/{{camera_id}}/{key}"
    router.get(path, summary=f"A camera's {key}", name=f"get_{key}")(get_part)
    router.put(path, summary=f"Replace a camera's {key}", openapi_extra=body, name=f"put_{key}")(
        put_part
    )


_part_routes("zones", _ZONES_BODY)
_part_routes("rules", _RULES_BODY)

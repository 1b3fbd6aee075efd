"""Control endpoints of the background system (design note 002)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from atalaia.api.auth import TokenCheck, presented_token, require_token
from atalaia.pipeline.snapshots import camera_snapshot, jsonable
from atalaia.service.manager import BackgroundManager, ProcessingUnavailable

router = APIRouter(prefix="/background", tags=["background"])


def manager_of(request: Request) -> BackgroundManager:
    manager: BackgroundManager = request.app.state.manager
    return manager


class BasicMonitors(BaseModel):
    host_monitor: bool
    serial_monitor: bool
    camera_monitor: bool
    status: str


class AlertProcessing(BaseModel):
    status: str
    cameras_processing: int
    total_alerts_processed: int
    handlers_status: dict[str, str]


class BackgroundStatus(BaseModel):
    """Exactly the shape of design note 002's status document."""

    status: str
    is_running: bool
    startup_completed: bool
    basic_monitors: BasicMonitors
    alert_processing: AlertProcessing


class ControlResult(BaseModel):
    changed: bool
    status: BackgroundStatus


def health_auth(request: Request) -> None:
    if not request.app.state.config.server.public_health:
        require_token(request)


def health_summary(details: dict[str, Any]) -> dict[str, str]:
    """What an open health check says: the status and, when something is wrong, why.

    Liveness probes and load balancers need no more, and anyone who can reach the port can
    read an open check: camera ids, URLs, error texts, PIDs and shared-memory names stay
    behind the token. The reason names a kind of problem, never its text.
    """
    summary = {"status": str(details["status"])}
    checks = details.get("checks") or {}
    reason: str | None
    if not details.get("startup_completed"):
        reason = "start-up failed" if details.get("startup_error") else "starting"
    elif checks.get("database", "ok") != "ok":
        reason = "database unreachable"
    elif checks.get("alert_processing") == "error":
        reason = "alert processing failed"
    else:
        reason = _cameras_offline(details.get("pipeline") or {})
    if reason:
        summary["reason"] = reason
    return summary


def _cameras_offline(pipeline: dict[str, Any]) -> str | None:
    cameras = pipeline.get("cameras") or {}
    offline = sum(
        1
        for state in cameras.values()
        if (stats := camera_snapshot(state)) is None or not stats.reader.online
    )
    return f"{offline} of {len(cameras)} cameras offline" if offline else None


@router.get(
    "/health",
    summary="Health check for external monitoring",
    dependencies=[Depends(health_auth)],
    responses={
        200: {"description": '`{"status": "ok"}`; with the token: the details'},
        503: {"description": '`{"status": "degraded", "reason": "..."}`; with the token: details'},
    },
)
async def health(request: Request) -> JSONResponse:
    """200 when the background system started and its database answers, 503 otherwise.

    Without a valid token the body is only `status` and a short `reason`; with one (the UI
    sends it) it holds every check, the start-up error and the pipeline's state.
    """
    details: dict[str, Any] = await manager_of(request).health()
    code = 200 if details["status"] == "ok" else 503
    check: TokenCheck = request.app.state.token_check
    body = jsonable(details) if check.valid(presented_token(request)) else health_summary(details)
    return JSONResponse(body, status_code=code)


@router.get("/status", response_model=BackgroundStatus, dependencies=[Depends(require_token)])
async def status(request: Request) -> dict[str, Any]:
    """Monitors and alert processing, in design note 002's shape."""
    return manager_of(request).status()


@router.post("/start", response_model=ControlResult, dependencies=[Depends(require_token)])
async def start(request: Request) -> dict[str, Any]:
    """Start alert processing (cameras, detectors, deliveries) after a stop."""
    return await _control(request, BackgroundManager.start_processing)


@router.post("/stop", response_model=ControlResult, dependencies=[Depends(require_token)])
async def stop(request: Request) -> dict[str, Any]:
    """Stop alert processing; the basic monitors keep running."""
    return await _control(request, BackgroundManager.stop_processing)


@router.post("/restart", response_model=ControlResult, dependencies=[Depends(require_token)])
async def restart(request: Request) -> dict[str, Any]:
    """Stop and start alert processing, e.g. to apply new settings."""
    return await _control(request, BackgroundManager.restart_processing)


async def _control(
    request: Request, action: Callable[[BackgroundManager], Awaitable[bool]]
) -> dict[str, Any]:
    """Run one control action: whether it changed anything and the status after it; 503 when
    alert processing cannot start (stopping never raises that)."""
    manager = manager_of(request)
    try:
        changed = await action(manager)
    except ProcessingUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    return {"changed": changed, "status": manager.status()}

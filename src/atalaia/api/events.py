"""Alerts: list with filters and pages, one alert, its snapshot and clip, its deliveries per
sink, and a retry for a delivery that died."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi import Path as FastApiPath
from fastapi.responses import FileResponse, Response

from atalaia.api.auth import require_token
from atalaia.api.peers import from_peers, may_forward, peers
from atalaia.service.manager import BackgroundManager
from atalaia.storage import alerts as alert_queries
from atalaia.storage.models import Alert
from atalaia.storage.outbox import retry_dead

router = APIRouter(prefix="/api", tags=["events"], dependencies=[Depends(require_token)])

# Bounded by the widths of the columns they are compared with; a NUL in any of them is refused
# before the endpoint runs (`atalaia.api.limits.UrlTextGuard`).
CameraFilter = Annotated[str | None, Query(max_length=64, description="camera id")]
LabelFilter = Annotated[str | None, Query(max_length=64, description="detected class")]
RuleFilter = Annotated[str | None, Query(max_length=100, description="rule name")]
ZoneFilter = Annotated[str | None, Query(max_length=100, description="zone name")]
AlertId = Annotated[str, FastApiPath(min_length=1, max_length=32, description="the alert's id")]


def _manager(request: Request) -> BackgroundManager:
    manager: BackgroundManager = request.app.state.manager
    return manager


def alert_body(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "camera": alert.camera_id,
        "label": alert.label,
        "rule": alert.rule,
        "zone": alert.zone,
        "score": alert.score,
        "box": alert.box,
        "track_id": alert.track_id,
        "state": str(alert.state),
        "start_time": alert.start_time.isoformat(),
        "end_time": alert.end_time.isoformat() if alert.end_time else None,
        "has_snapshot": bool(alert.snapshot_path),
        "has_clip": bool(alert.clip_path),
        "extra": alert.extra,
    }


@router.get("/events", summary="List alerts, newest first")
async def list_events(
    request: Request,
    camera: CameraFilter = None,
    label: LabelFilter = None,
    rule: RuleFilter = None,
    zone: ZoneFilter = None,
    since: Annotated[datetime | None, Query(description="start at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="start before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    manager = _manager(request)
    where = alert_queries.AlertFilter(camera, label, rule, zone, since, until)

    def query() -> dict[str, Any]:
        with manager.database.session() as session:
            rows, total = alert_queries.list_alerts(session, where, limit=limit, offset=offset)
            return {
                "total": total,
                "limit": limit,
                "offset": offset,
                "items": [alert_body(a) for a in rows],
            }

    return await asyncio.to_thread(query)


async def _alert(manager: BackgroundManager, alert_id: str) -> dict[str, Any]:
    def query() -> dict[str, Any] | None:
        with manager.database.session() as session:
            alert = alert_queries.get_alert(session, alert_id)
            if alert is None:
                return None
            body = alert_body(alert)
            body["snapshot_path"], body["clip_path"] = alert.snapshot_path, alert.clip_path
            return body

    found = await asyncio.to_thread(query)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id!r}")
    return found


@router.get("/events/{alert_id}", summary="One alert")
async def get_event(alert_id: AlertId, request: Request) -> dict[str, Any]:
    body = await _alert(_manager(request), alert_id)
    body.pop("snapshot_path")
    body.pop("clip_path")
    return body


def _local_media(manager: BackgroundManager, stored: str) -> Path | None:
    """A media file of an alert, only from inside this node's data directory."""
    root = manager.config.data_dir.resolve()
    path = Path(stored)
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


async def _media(request: Request, alert_id: str, what: str, media_type: str) -> Response:
    """The alert's snapshot or clip: from this node's data directory, or in a cluster from
    the node whose camera process wrote it (`atalaia.api.peers`)."""
    manager = _manager(request)
    body = await _alert(manager, alert_id)
    stored = body[f"{what}_path"]
    if not stored:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"this alert has no {what}")
    path = _local_media(manager, stored)
    if path is not None:
        return FileResponse(path, media_type=media_type)
    if may_forward(request):
        found = await peers(request, body["camera"])
        proxied = await from_peers(request, request.url.path, found)
        if proxied is not None:
            return proxied
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"the {what} file is not available")


@router.get("/events/{alert_id}/snapshot.jpg", summary="The alert's snapshot (JPEG)")
async def snapshot(alert_id: AlertId, request: Request) -> Response:
    return await _media(request, alert_id, "snapshot", "image/jpeg")


@router.get("/events/{alert_id}/clip.mp4", summary="The alert's clip (MP4)")
async def clip(alert_id: AlertId, request: Request) -> Response:
    return await _media(request, alert_id, "clip", "video/mp4")


@router.get(
    "/events/{alert_id}/deliveries", summary="Delivery of each of the alert's events to each sink"
)
async def deliveries(alert_id: AlertId, request: Request) -> list[dict[str, Any]]:
    manager = _manager(request)
    await _alert(manager, alert_id)

    def query() -> list[dict[str, Any]]:
        with manager.database.session() as session:
            return [
                {
                    "delivery_id": d.id,
                    "event_id": e.id,
                    "event_type": str(e.type),
                    "sink": d.sink,
                    "status": str(d.status),
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "next_attempt_at": d.next_attempt_at.isoformat() if d.next_attempt_at else None,
                    "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
                }
                for e, d in alert_queries.deliveries_of(session, alert_id)
            ]

    return await asyncio.to_thread(query)


@router.post("/deliveries/{delivery_id}/retry", summary="Retry a dead delivery now")
async def retry_delivery(
    delivery_id: Annotated[int, FastApiPath(ge=1, le=2**63 - 1)], request: Request
) -> dict[str, Any]:
    manager = _manager(request)

    def retry() -> str:
        with manager.database.session() as session:
            delivery = alert_queries.get_delivery(session, delivery_id)
            if delivery is None:
                return "missing"
            return "retried" if retry_dead(session, delivery_id) else str(delivery.status)

    outcome = await asyncio.to_thread(retry)
    if outcome == "missing":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no delivery {delivery_id}")
    if outcome != "retried":
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"delivery {delivery_id} is {outcome}, not dead"
        )
    manager.deliveries_changed()
    return {"delivery_id": delivery_id, "status": "pending"}

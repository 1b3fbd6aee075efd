"""The nodes of a cluster and which node runs each camera (`cluster.enabled`).

Every node answers for the whole site from the shared database: `/api/nodes` lists the nodes
(live or not, by their heartbeat), `/api/nodes/cameras` every camera with the node holding its
lease. `/api/nodes/self` is this node's own view: the cameras its processes run right now and
its leases, which is what a monitor checks to see that a node does what the database says.
`POST /api/nodes/background/{start,stop,restart}` acts on the whole site: this node directly,
every other registered node through its advertised URL with the caller's own token (the
token is the site's: its hash is in the shared database).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import Row, TextClause, text

from atalaia.api import background
from atalaia.api.auth import presented_token, require_token
from atalaia.redact import mask_secrets
from atalaia.service.manager import BackgroundManager

# Stopping a node waits for its cameras and deliveries to finish (shutdown timeouts).
FORWARD_TIMEOUT_S = 60.0

router = APIRouter(prefix="/api/nodes", tags=["nodes"], dependencies=[Depends(require_token)])

_NODES = text(
    "SELECT n.id, n.advertise_url, n.capacity, n.version, n.state, n.started_at,"
    " n.heartbeat_at, EXTRACT(EPOCH FROM now() - n.heartbeat_at) AS age,"
    " (n.state = 'running' AND n.heartbeat_at > now() - CAST(:lease AS interval))"
    " AS live, array_remove(array_agg(l.camera_id ORDER BY l.camera_id), NULL)"
    " AS cameras FROM cluster_nodes n LEFT JOIN camera_leases l"
    " ON l.owner = n.id AND l.lease_until > now()"
    " GROUP BY n.id ORDER BY n.heartbeat_at DESC"
)
# Its columns are the answer's keys, in order.
_CAMERA_NODES = text(
    "SELECT c.id AS camera, c.name, c.enabled, l.owner AS node, n.advertise_url AS node_url,"
    " l.generation FROM cameras c LEFT JOIN camera_leases l"
    " ON l.camera_id = c.id AND l.lease_until > now()"
    " LEFT JOIN cluster_nodes n ON n.id = l.owner ORDER BY c.id"
)


def _manager(request: Request) -> BackgroundManager:
    manager: BackgroundManager = request.app.state.manager
    return manager


def _lease_s(request: Request) -> float:
    return float(request.app.state.config.cluster.lease_s)


@router.get("/self")
def this_node(request: Request) -> dict[str, Any]:
    manager = _manager(request)
    pipeline = manager.pipeline
    config = request.app.state.config.cluster
    return {
        "node_id": config.node_id if config.enabled else None,
        "cluster": config.enabled,
        "running": sorted(pipeline.cameras) if pipeline is not None else [],
        "leases": manager.cluster_status(),
    }


@router.get("")
def list_nodes(request: Request) -> list[dict[str, Any]]:
    """Every node that ever joined, newest heartbeat first; `live` by its heartbeat."""
    rows = _site_rows(request, _NODES, {"lease": f"{_lease_s(request)} seconds"})
    return [
        {
            "id": r.id,
            "url": r.advertise_url,
            "capacity": r.capacity,
            "version": r.version,
            "state": r.state,
            "live": bool(r.live),
            "started_at": r.started_at.isoformat(),
            "heartbeat_age_s": round(float(r.age), 3),
            "cameras": list(r.cameras),
        }
        for r in rows
    ]


@router.get("/cameras")
def camera_nodes(request: Request) -> list[dict[str, Any]]:
    """Every camera of the site with the node whose lease runs it (None: nobody right now)."""
    return [dict(r._mapping) for r in _site_rows(request, _CAMERA_NODES)]


def _site_rows(
    request: Request, query: TextClause, params: dict[str, Any] | None = None
) -> list[Row[Any]]:
    """The rows of a query on the shared database; none on SQLite, which cannot hold a cluster
    (nodes share cameras through PostgreSQL row locks) and whose queries here are PostgreSQL's."""
    database = _manager(request).database
    if database.is_sqlite:
        return []
    with database.engine.connect() as conn:
        return list(conn.execute(query, params or {}))


def _registered(manager: BackgroundManager) -> list[tuple[str, str | None]]:
    with manager.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, advertise_url FROM cluster_nodes ORDER BY id"))
        return [(str(r.id), r.advertise_url) for r in rows]


@router.post("/background/start", summary="Start alert processing on every node")
async def site_start(request: Request) -> dict[str, Any]:
    return await _site_control("start", request)


@router.post("/background/stop", summary="Stop alert processing on every node")
async def site_stop(request: Request) -> dict[str, Any]:
    return await _site_control("stop", request)


@router.post("/background/restart", summary="Restart alert processing on every node")
async def site_restart(request: Request) -> dict[str, Any]:
    return await _site_control("restart", request)


async def _site_control(
    action: Literal["start", "stop", "restart"], request: Request
) -> dict[str, Any]:
    """Start, stop or restart alert processing on every node of the site; per node, the
    node's own answer or why it could not be reached. Without a cluster: this node only."""
    manager = _manager(request)
    handler = {"start": background.start, "stop": background.stop, "restart": background.restart}
    config = request.app.state.config.cluster
    me = config.node_id if config.enabled else "self"
    others: list[tuple[str, str | None]] = []
    if config.enabled and not manager.database.is_sqlite:
        others = [n for n in await asyncio.to_thread(_registered, manager) if n[0] != me]
    # The caller's token however it came (the console's is a cookie), as a bearer token.
    headers = {"Authorization": f"Bearer {presented_token(request) or ''}"}

    async def local() -> dict[str, Any]:
        try:
            return await handler[action](request)
        except HTTPException as exc:
            return {"error": f"HTTP {exc.status_code}: {exc.detail}"}

    async def remote(client: httpx.AsyncClient, url: str | None) -> dict[str, Any]:
        if not url:
            return {"error": "the node advertises no URL (cluster.advertise_url)"}
        try:
            response = await client.post(f"{url.rstrip('/')}/background/{action}")
        except httpx.HTTPError as exc:
            return {"error": mask_secrets(f"unreachable: {type(exc).__name__}: {exc}")}
        if response.status_code != 200:
            return {"error": f"HTTP {response.status_code}: {response.text[:200]}"}
        answer: dict[str, Any] = response.json()
        return answer

    async with httpx.AsyncClient(headers=headers, timeout=FORWARD_TIMEOUT_S) as client:
        answers = await asyncio.gather(local(), *(remote(client, url) for _, url in others))
    return {"nodes": dict(zip([me, *(node for node, _ in others)], answers, strict=True))}

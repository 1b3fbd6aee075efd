"""Media another node of the cluster has: live frames of the cameras it runs, and the
snapshots and clips its camera processes wrote.

Every node answers for the whole site (docs/cluster.md), but media files live in the data
directory of the node whose camera process wrote them. A node asked for one it does not have
asks the live nodes that advertise a URL, the camera's lease holder first, with the caller's
own token (the site's: its hash is in the shared database), and streams the first answer
through. A forwarded request carries `FORWARDED_HEADER` and is never forwarded again, so two
nodes can never bounce a request between them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import text
from starlette.background import BackgroundTask

from atalaia.api.auth import presented_token

FORWARDED_HEADER = "X-Atalaia-Forwarded-By"
NODE_HEADER = "X-Atalaia-Node"  # on a proxied answer: the node that had it
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 10.0
# What a peer's answer keeps on its way through (a clip is seekable: ranges pass both ways).
_PASSED_BACK = ("content-type", "content-length", "content-range", "accept-ranges")

_PEERS = text(
    "SELECT n.id, n.advertise_url, (l.camera_id IS NOT NULL) AS holds FROM cluster_nodes n"
    " LEFT JOIN camera_leases l ON l.owner = n.id AND l.camera_id = :camera"
    " AND l.lease_until > now()"
    " WHERE n.state = 'running' AND n.heartbeat_at > now() - CAST(:lease AS interval)"
    " AND n.id <> :me AND n.advertise_url IS NOT NULL"
    " ORDER BY (l.camera_id IS NULL), n.id"
)


@dataclass(frozen=True, slots=True)
class Peer:
    node_id: str
    url: str
    holds_camera: bool


def _this_node(request: Request) -> str | None:
    """This node's id when it is in a cluster on PostgreSQL, else None."""
    config = request.app.state.config.cluster
    if not config.enabled or request.app.state.manager.database.is_sqlite:
        return None
    return str(config.node_id)


def may_forward(request: Request) -> bool:
    """Whether a miss here may be asked of the other nodes: in a cluster, and not already
    a forwarded request."""
    return _this_node(request) is not None and FORWARDED_HEADER not in request.headers


async def peers(request: Request, camera_id: str | None = None) -> list[Peer]:
    """The other live nodes with a URL; the one holding `camera_id`'s lease first."""
    me = _this_node(request)
    if me is None:
        return []
    lease = f"{float(request.app.state.config.cluster.lease_s)} seconds"
    database = request.app.state.manager.database

    def query() -> list[Peer]:
        with database.engine.connect() as conn:
            rows = conn.execute(_PEERS, {"camera": camera_id or "", "lease": lease, "me": me})
            return [Peer(str(r.id), str(r.advertise_url).rstrip("/"), bool(r.holds)) for r in rows]

    return await asyncio.to_thread(query)


async def from_peers(
    request: Request, path: str, candidates: list[Peer]
) -> StreamingResponse | None:
    """Stream `path` from the first of `candidates` that has it (200, or 206 for a range);
    None when none does or none answers. A peer that fails or times out is skipped."""
    if not candidates:
        return None
    token = presented_token(request) or ""
    headers = {"Authorization": f"Bearer {token}", FORWARDED_HEADER: _this_node(request) or ""}
    if "range" in request.headers:
        headers["Range"] = request.headers["range"]
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    client = httpx.AsyncClient(timeout=timeout)
    for peer in candidates:
        try:
            answer = await client.send(
                client.build_request("GET", peer.url + path, headers=headers), stream=True
            )
        except httpx.HTTPError:
            continue
        if answer.status_code not in (200, 206):
            await answer.aclose()
            continue
        passed = {k: v for k, v in answer.headers.items() if k.lower() in _PASSED_BACK}

        async def close(answer: httpx.Response = answer) -> None:
            await answer.aclose()
            await client.aclose()

        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers={**passed, "Cache-Control": "no-store", NODE_HEADER: peer.node_id},
            background=BackgroundTask(close),
        )
    await client.aclose()
    return None

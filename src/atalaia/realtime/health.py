"""`GET /health`: the user's note's health answer, for the real-time clients and their UI.

It answers 200 whenever the API answers, and says in the body whether frames can be
detected (`model_loaded`); `/background/health` is the readiness check that answers 503.
Public unless `server.public_health` is off, like `/background/health`.
"""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from atalaia.api.background import health_auth


class RealtimeHealth(BaseModel):
    status: Literal["ok", "degraded"]
    timestamp: float
    model_loaded: bool
    active_connections: int
    cache_size: int


router = APIRouter(tags=["realtime"])


@router.get(
    "/health",
    response_model=RealtimeHealth,
    summary="Health of the real-time detection endpoint",
    dependencies=[Depends(health_auth)],
)
async def health(request: Request) -> RealtimeHealth:
    """`degraded` while the detector is not loaded (alert processing stopped or starting)."""
    detection = request.app.state.manager.client_detection
    loaded = detection is not None and detection.connected
    server = getattr(request.app.state, "realtime", None)
    return RealtimeHealth(
        status="ok" if loaded else "degraded",
        timestamp=time.time(),
        model_loaded=loaded,
        active_connections=server.active_connections if server is not None else 0,
        cache_size=len(server.processor.cache) if server is not None else 0,
    )

"""The service's HTTP API as the viewer uses it. Blocking calls: only worker threads use it.

Timeouts are short on purpose: a service that stopped answering must turn into the
"disconnected" banner within seconds, and nothing here ever runs on the UI thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0


class AuthError(RuntimeError):
    """The service refused the token (401)."""


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def timeouts(read: float = READ_TIMEOUT) -> httpx.Timeout:
    return httpx.Timeout(connect=CONNECT_TIMEOUT, read=read, write=read, pool=CONNECT_TIMEOUT)


class ApiClient:
    """One `httpx.Client` per worker thread (httpx clients are not shared across threads)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=_headers(token), timeout=timeouts())

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: Any) -> Any:
        response = self._http.get(path, params=params or None)
        if response.status_code == 401:
            raise AuthError("the service refused the API token")
        response.raise_for_status()
        return response.json()

    def cameras(self) -> list[dict[str, Any]]:
        return list(self._get("/api/cameras"))

    def stats(self) -> dict[str, Any]:
        """Note 002's status, each camera's process state and counters, the host monitor."""
        return dict(self._get("/api/stats"))

    def alerts_since(self, since: datetime | None, limit: int = 50) -> list[dict[str, Any]]:
        """Alerts newest first, those starting at or after `since` when given."""
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since.isoformat()
        return list(self._get("/api/events", **params)["items"])

    def media(self, alert_id: str, name: str) -> bytes | None:
        """`snapshot.jpg` or `clip.mp4` of an alert; None when it has none (yet)."""
        response = self._http.get(f"/api/events/{alert_id}/{name}", timeout=timeouts(20.0))
        if response.status_code == 404:
            return None
        if response.status_code == 401:
            raise AuthError("the service refused the API token")
        response.raise_for_status()
        return response.content

    def control(self, action: str) -> dict[str, Any]:
        """POST /background/start|stop|restart: a stop or start may take a while."""
        if action not in ("start", "stop", "restart"):
            raise ValueError(f"unknown action {action!r}")
        response = self._http.post(f"/background/{action}", timeout=timeouts(60.0))
        if response.status_code == 401:
            raise AuthError("the service refused the API token")
        response.raise_for_status()
        return dict(response.json())

    def live_stream_request(self, camera_id: str, fps: float) -> httpx.Request:
        return self._http.build_request(
            "GET", f"/api/cameras/{camera_id}/live.mjpeg", params={"fps": fps}
        )

    def send(self, request: httpx.Request) -> httpx.Response:
        response = self._http.send(request, stream=True)
        if response.status_code == 401:
            response.close()
            raise AuthError("the service refused the API token")
        return response

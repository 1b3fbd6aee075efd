"""`POST /background/{start,stop,restart}`: whether anything changed and the status after it,
or 503 with the reason when alert processing cannot start."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.conftest import AUTH


def test_control_without_a_log_writer_refuses_to_start(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()  # no log writer: this instance cannot run camera processes
    for action in ("start", "restart"):
        response = client.post(f"/background/{action}", headers=AUTH)
        assert response.status_code == 503, action
        assert response.json() == {
            "detail": "alert processing is not available: this service instance has no log writer"
        }
    stopped = client.post("/background/stop", headers=AUTH)
    assert stopped.status_code == 200
    body = stopped.json()
    assert body["changed"] is False
    status = client.get("/background/status", headers=AUTH).json()
    assert set(body["status"]) == set(status) and body["status"]["is_running"] is False

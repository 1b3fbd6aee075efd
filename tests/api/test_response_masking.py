"""The masking pass under every response: literal secrets, JSON escapes, cameras that another
node stored, and bodies with nothing to hide left byte for byte."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from atalaia.api.masking import mask_body
from atalaia.config import CameraConfig
from atalaia.service import camera_store
from tests.api.conftest import AUTH, TOKEN


def test_json_is_masked_value_by_value() -> None:
    secret = 'Quo"te\\Pw-1'
    document = {"a": f"x {secret} y", "b": ["rtsp://u:open-pw@h/x"], secret: 1, "n": 2.5}
    body = json.dumps(document).encode()
    masked = json.loads(mask_body(body, "application/json", [secret]))
    assert masked == {"a": "x *** y", "b": ["rtsp://u:***@h/x"], "***": 1, "n": 2.5}
    untouched = json.dumps({"a": "nothing here", "email": "a@b.c"}).encode()
    assert mask_body(untouched, "application/json", [secret]) is untouched
    text = b'# HELP x\nx{camera="a"} 1\nerror Quo"te\\Pw-1\n'
    assert mask_body(text, "text/plain; version=0.0.4", [secret]).endswith(b"error ***\n")


def test_secrets_follow_cameras_stored_by_another_node(
    make_client: Callable[..., TestClient],
) -> None:
    """A camera written straight into the database (another node, a person) has its password
    masked too, although this process never saw its configuration."""
    client = make_client()
    manager = client.app.state.manager  # type: ignore[attr-defined]
    password = "OtherNodePw-31"
    camera = CameraConfig.model_validate(
        {"id": "elsewhere", "source": f"rtsp://admin:{password}@10.1.1.1/s"}
    )
    camera_store.save(manager.database, camera)
    # A request that may change state re-reads the cameras before its answer is masked: a
    # validation error echoes its input.
    echoed = client.post("/api/session", json={"token": 5, "remember": password})
    assert echoed.status_code == 422
    assert password not in echoed.text and "***" in echoed.text
    # Reads pick the cameras up within the refresh interval.
    other = "LaterPw-77"
    camera_store.save(
        manager.database,
        camera.model_copy(
            update={
                "source": camera.source.model_copy(
                    update={"url": f"rtsp://admin:{other}@10.1.1.1/s"}
                )
            }
        ),
    )
    deadline = time.monotonic() + 10
    while True:
        answer = client.get(f"/api/cameras/{other}", headers=AUTH)  # 404 quotes the id
        if other not in answer.text or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert answer.status_code == 404 and other not in answer.text, answer.text


def test_the_api_token_never_comes_back(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    echoed = client.post("/api/session", json={"token": TOKEN, "remember": TOKEN})
    assert echoed.status_code == 422 and TOKEN not in echoed.text
    assert client.get("/ui/js/api.js").status_code == 200  # static files pass untouched

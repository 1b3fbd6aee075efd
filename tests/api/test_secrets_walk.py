"""The secrets walk: a real service holding a secret in every sink and camera, every route of
its route table asked (with and without the token, and into its error answers), and no secret
in any body, in any log line, or in `atalaia config check`'s output.

The sinks point at a local HTTP server that answers 500 and echoes the request it got (form
fields, headers, URL), at RabbitMQ with a wrong login and at a closed MQTT port, so their
error texts are the nastiest a library can produce.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import yaml
from starlette.routing import BaseRoute

from atalaia.api.app import create_app
from atalaia.api.auth import TokenCheck
from atalaia.config import AtalaiaConfig
from atalaia.events.recorder import record_alert_event
from atalaia.service.manager import BackgroundManager
from atalaia.storage.db import Database
from tests.conftest import require_service
from tests.events.support import new_event
from tests.storage.conftest import DEFAULT_POSTGRES_URL, PostgresServer

API_TOKEN = "walk-api-token-Q7x2pL"
SECRETS = {
    "api token": API_TOKEN,
    "database password": "DbPw-9f3kq1",
    "mqtt password": "MqttPw-4hd8s2",
    "amqp password": "AmqpPw-7sk2m9",
    "frigate url password": "FrigUrlPw-2ld9",
    "frigate bearer": "FrigBearer-8qv3nz",
    "frigate password": "FrigBasicPw-5mz1",
    "findface url password": "FfUrlPw-3kx0",
    "findface token": "FfToken-6pw4qe",
    "webhook url password": "HookUrlPw-1tq8",
    "webhook query token": "HookQueryTok-0vx7",
    "webhook secret": "HookSecret-5nb2wc",
    "rtsp password": "RtspPw-8cj3ke",
    "http camera password": "HttpCamPw-2wr6",
    "api camera password": "ApiCam@Pw-4yu1",  # an '@' inside, as cameras take it unencoded
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EchoHandler(BaseHTTPRequestHandler):
    """Answers 500 with everything it was sent: the worst error body a sink can quote."""

    def _echo(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        text = f"{self.command} {self.path}\n{self.headers}\n".encode() + body
        self.send_response(500)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_POST = do_PUT = do_GET = _echo

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, reached through a URL that carries a password
    (the test server trusts local connections, so the password only has to stay hidden)."""
    url = os.environ.get("ATALAIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    server = PostgresServer(url)
    require_service("PostgreSQL", server.url.host or "127.0.0.1", server.url.port or 5432)
    created = server.create("atalaia_secrets")
    try:
        yield created.replace("@", f":{SECRETS['database password']}@", 1)
    finally:
        server.drop(created)
        server.close()


def walk_config(data_dir: Path, database_url: str, echo: int) -> dict[str, Any]:
    closed = free_port()
    s = SECRETS
    policy = {"max_attempts": 2, "backoff_initial": 0.2, "backoff_max": 0.5, "timeout": 2.0}
    return {
        "data_dir": str(data_dir),
        "server": {"token": API_TOKEN, "port": free_port()},
        "database": {"url": database_url},
        "logging": {"console": True},
        "realtime": {"enabled": False},
        "cameras": [
            {
                "id": "gate",
                "source": {"url": f"rtsp://admin:{s['rtsp password']}@127.0.0.1:{closed}/s1"},
                "detect": {"enabled": False},
            },
            {
                "id": "yard",
                "source": {
                    "url": f"http://viewer:{s['http camera password']}@127.0.0.1:{closed}/mjpeg"
                },
                "detect": {"enabled": False},
            },
        ],
        "sinks": [
            {"type": "database"},
            {
                "type": "mqtt",
                "port": closed,
                "username": "walker",
                "password": s["mqtt password"],
                **policy,
            },
            {
                "type": "amqp",
                "url": f"amqp://walker:{s['amqp password']}@127.0.0.1:5672/",
                **policy,
            },
            {
                "type": "frigate",
                "base_url": f"http://frig:{s['frigate url password']}@127.0.0.1:{echo}",
                "bearer_token": s["frigate bearer"],
                **policy,
            },
            {
                "type": "frigate",
                "name": "frigate-basic",
                "base_url": f"http://127.0.0.1:{echo}",
                "username": "frig",
                "password": s["frigate password"],
                **policy,
            },
            {
                "type": "findface",
                "base_url": f"http://ff:{s['findface url password']}@127.0.0.1:{echo}",
                "token": s["findface token"],
                "camera": "{camera}",
                **policy,
            },
            {
                "type": "webhook",
                "url": f"http://hook:{s['webhook url password']}@127.0.0.1:{echo}/in"
                f"?token={s['webhook query token']}",
                "secret": s["webhook secret"],
                **policy,
            },
        ],
    }


def leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def route_table(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, routers included by FastAPI expanded."""
    found: list[tuple[str, str]] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context_prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            found += route_table(included.routes, prefix + context_prefix)
            continue
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path is None or not methods:
            continue  # a mount (Socket.IO): not an HTTP API
        found += [(m, prefix + path) for m in sorted(methods) if m != "HEAD"]
    return found


@contextlib.contextmanager
def running_service(config_file: Path, out: Path, url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATALAIA_")}
    env["PYTHONUNBUFFERED"] = "1"
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "atalaia", "run", "--config", str(config_file)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, out.read_text(errors="replace")[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/background/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, out.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(45)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def record_alert(database_url: str, data_dir: Path, sinks: list[str]) -> tuple[str, str]:
    """An alert with a snapshot, committed as a camera would; returns (alert id, event id)."""
    snapshot = data_dir / "media" / "gate" / "snapshots" / "walk.jpg"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    ok, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))
    assert ok
    snapshot.write_bytes(jpeg.tobytes())
    event = new_event("gate", snapshot_path=str(snapshot.relative_to(data_dir)))
    database = Database(database_url)
    try:
        with database.session() as session:
            record_alert_event(session, event, sinks)
    finally:
        database.dispose()
    return event.after.id, event.id


def ask(client: httpx.Client, method: str, path: str, body: Any = None) -> tuple[int, str]:
    """One request; a stream (the live MJPEG view) is read for a moment, not to its end."""
    with client.stream(method, path, json=body) as response:
        data = b""
        started = time.monotonic()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > 1 << 20 or time.monotonic() - started > 2:
                break
    return response.status_code, data.decode("utf-8", "replace")


def wait_for_sink_errors(client: httpx.Client, names: set[str]) -> dict[str, Any]:
    """The sinks' stats once every named sink has failed at least once (or 60 s passed)."""
    deadline = time.monotonic() + 60
    while True:
        sinks: dict[str, Any] = client.get("/api/stats").json()["sinks"]
        failing = {n for n, s in sinks.items() if s.get("last_error") or s.get("failed")}
        if names <= failing or time.monotonic() > deadline:
            return sinks
        time.sleep(0.5)


def test_no_secret_in_any_response_log_or_config_check(
    tmp_path: Path, echo_server: int, database_url: str
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    data_dir = tmp_path / "data"
    raw = walk_config(data_dir, database_url, echo_server)
    config_file = tmp_path / "atalaia.yaml"
    config_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = AtalaiaConfig.model_validate(raw)
    sink_names = [config.sink_name(s) for s in config.sinks]
    base = f"http://127.0.0.1:{config.server.port}"
    out = tmp_path / "service.out"
    bodies: dict[str, str] = {}

    with running_service(config_file, out, base):
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        client = httpx.Client(base_url=base, headers=auth, timeout=10)
        open_client = httpx.Client(base_url=base, timeout=10)
        # A camera added through the API, with a password holding '@'.
        api_camera = {
            "id": "dock",
            "source": {"url": f"rtsp://admin:{SECRETS['api camera password']}@127.0.0.1:9/s"},
            "detect": {"enabled": False},
        }
        created = client.post("/api/cameras", json=api_camera)
        assert created.status_code == 201, created.text
        bodies["POST /api/cameras"] = created.text
        alert_id, _ = record_alert(database_url, data_dir, sink_names)
        sinks = wait_for_sink_errors(
            client, {"mqtt", "amqp", "frigate", "frigate-basic", "findface", "webhook"}
        )
        # The sinks did fail, and said why: the walk below reads real error texts.
        for echoed in ("findface", "webhook", "frigate", "frigate-basic"):
            assert "HTTP 500" in sinks[echoed]["last_error"], sinks
        bodies["stats with sink errors"] = str(sinks)

        deliveries = client.get(f"/api/events/{alert_id}/deliveries").json()
        delivery_id = deliveries[0]["delivery_id"] if deliveries else 1
        values = {
            "camera_id": "gate",
            "alert_id": alert_id,
            "event_id": alert_id,
            "id": alert_id,
            "delivery_id": str(delivery_id),
            "relative": "js/main.js",
        }
        table = route_table(
            create_app(config, BackgroundManager(config), TokenCheck("unused")).routes
        )
        asked = set()
        for method, path in table:
            concrete = path
            for name, value in values.items():
                concrete = concrete.replace("{" + name + "}", value)
                concrete = concrete.replace("{" + name + ":path}", value)
            assert "{" not in concrete, f"no value for a parameter of {path}"
            missing = path.replace("{camera_id}", "nope").replace("{alert_id}", "nope")
            missing = missing.replace("{delivery_id}", "999999")
            calls = [("open", open_client, concrete, None), ("404", client, missing, None)]
            if method == "GET":
                calls.append(("token", client, concrete, None))
            elif method in ("POST", "PUT") and not path.startswith("/background/"):
                # A body that fails validation, and that validation errors would echo.
                calls.append(("token", client, concrete, {"source": api_camera["source"]}))
            for label, who, target, body in calls:
                status, text = ask(who, method, target, body)
                bodies[f"{label} {method} {target} -> {status}"] = text
            asked.add(path)
        # The route table covers what the OpenAPI document lists, and more.
        openapi = client.get("/openapi.json").json()
        assert set(openapi["paths"]) <= asked
        for extra in ("/metrics", "/api/stats", "/background/health", "/openapi.json", "/docs"):
            bodies[f"GET {extra}"] = client.get(extra).text
        # Validation errors echo the input: a camera with a password and a wrong field.
        bad = {
            **api_camera,
            "id": "bad camera id",
            "source": {"url": f"rtsp://admin:{SECRETS['rtsp password']}@h/x", "transport": 5},
        }
        answer = client.post("/api/cameras", json=bad)
        assert answer.status_code == 422
        bodies["POST bad camera"] = answer.text
        answer = client.put("/api/cameras/dock", json={**api_camera, "fps": "x"})
        bodies["PUT bad camera"] = answer.text
        client.close()
        open_client.close()

    leaked = {what: leaks(text) for what, text in bodies.items() if leaks(text)}
    assert not leaked, leaked
    assert len(bodies) > 60
    # Masked, yet still telling: the per-field masking shows the user and host.
    assert "rtsp://admin:***@127.0.0.1:9/s" in bodies["POST /api/cameras"]

    logs = (data_dir / "atalaia.log").read_text(errors="replace")
    console = out.read_text(errors="replace")
    assert "findface" in logs and "gate" in logs
    assert not leaks(logs), [line for line in logs.splitlines() if leaks(line)][:5]
    assert not leaks(console), [line for line in console.splitlines() if leaks(line)][:5]

    checked = subprocess.run(
        [sys.executable, "-m", "atalaia", "config", "check", str(config_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert not leaks(checked.stdout + checked.stderr)
    assert "admin:***@" in checked.stdout

    broken = dict(raw)
    broken["sinks"] = [*raw["sinks"], {"type": "findface", "token": SECRETS["findface token"]}]
    broken["cameras"] = [*raw["cameras"], {"id": "gate", "source": raw["cameras"][0]["source"]}]
    broken["server"] = {**raw["server"], "port": "not a port"}
    bad_file = tmp_path / "broken.yaml"
    bad_file.write_text(yaml.safe_dump(broken, sort_keys=False))
    refused = subprocess.run(
        [sys.executable, "-m", "atalaia", "config", "check", str(bad_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "server.port" in refused.stderr
    assert not leaks(refused.stdout + refused.stderr), refused.stderr

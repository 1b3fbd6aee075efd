"""`atalaia supervisor` is the whole service but the HTTP API (design note 003's command line).

A real subprocess with the note's flags, a file camera playing people, a rule on a zone that
exists only in the ROI file, PostgreSQL, the shared Mosquitto and a board on a pty: the alert
reaches a real MQTT subscriber on `atalaia/events`, its deliveries end `delivered` in the
database (so the outbox dispatchers ran), the board gets its siren command (so the monitors
ran), and SIGTERM drains and exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import select

from atalaia.demo import demo_frames, write_video
from atalaia.storage.db import Database
from atalaia.storage.models import Alert, Delivery, DeliveryStatus
from tests.conftest import require_service
from tests.monitors.support import PtyBoard
from tests.storage.conftest import PostgresServer

FPS = 10


def wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


class EventSubscriber:
    """A plain MQTT client on `atalaia/events`, keeping the events of one camera."""

    def __init__(self, camera: str) -> None:
        self.camera = camera
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe("atalaia/events", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        event = json.loads(message.payload)
        if event.get("after", {}).get("camera") == self.camera:
            with self._lock:
                self.events.append(event)

    def __enter__(self) -> EventSubscriber:
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self._subscribed.wait(10), "no SUBACK from Mosquitto"
        return self

    def __exit__(self, *_: object) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def new_events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.events if e["type"] == "new"]


def write_inputs(tmp_path: Path, database_url: str, camera: str, board: Path) -> None:
    video = tmp_path / "people.mp4"
    write_video(video, demo_frames(seconds=4, fps=FPS), FPS)
    (tmp_path / "roi.json").write_text(
        json.dumps(
            {
                "polygons": [
                    {
                        "name": "roi_epi_on",
                        "points": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]],
                        "color": [0, 255, 0],
                    },
                    {"name": "roi_gate", "points": [[0, 0], [0.2, 0], [0.2, 0.2]]},
                ]
            }
        )
    )
    (tmp_path / "ppe.yaml").write_text(
        "person: [person]\nequipment:\n  helmet: [helmet, hard hat]\nmissing: {}\n"
    )
    (tmp_path / "site.yaml").write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"database: {{url: '{database_url}'}}\n"
        "supervisor: {heartbeat_interval: 0.5}\n"
        "detectors: {default: {type: onnx, input_size: 320}}\n"
        "media: {pre_roll: 0.5, post_roll: 0.5, clip_fps: 5}\n"
        "monitors:\n"
        "  serial:\n"
        f"    port: '{board}'\n"
        "    alert_commands:\n"
        "      - {match: {zone: roi_epi_on}, command: {action: siren, duration_s: 5}}\n"
        "sinks:\n"
        "  - {type: mqtt, host: 127.0.0.1, port: 1883, discovery: false, snapshots: false}\n"
        "cameras:\n"
        f"  - id: {camera}\n"
        f"    source: {{url: '{video}', loop: true}}\n"
        "    detect: {fps: 5}\n"
        "    zones:\n"
        "      - {name: bench, points: [[0, 0], [0.1, 0], [0.1, 0.1]]}\n"
        "    rules:\n"
        "      - {type: object_in_zone, name: person_in_epi_zone, zone: roi_epi_on,"
        " labels: [person], cooldown: 0}\n"
    )


def test_note_003_command_line_delivers_roi_zone_alerts_to_mqtt_and_database(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    require_service("Mosquitto", "127.0.0.1", 1883)
    camera = f"cam61_{uuid.uuid4().hex[:8]}"
    database_url = postgres_server.create("supervisor")
    database = Database(database_url)
    board = PtyBoard(tmp_path)  # the ESP32 with the siren, on a real pty
    write_inputs(tmp_path, database_url, camera, board.path)
    argv = [
        *("supervisor", "--config", "site.yaml", "--prompts", "ppe.yaml"),
        *("--roi", "roi.json", "--roi-polys", "roi_epi_on", "--log-file", "pipeline.log"),
    ]
    log_file = tmp_path / "pipeline.log"
    try:
        with EventSubscriber(camera) as subscriber:
            proc = subprocess.Popen(
                [sys.executable, "-m", "atalaia", *argv],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                arrived = wait_for(lambda: bool(subscriber.new_events()), 90)
                assert arrived, log_file.read_text() if log_file.exists() else proc.poll()
                event = subscriber.new_events()[0]
                after = event["after"]
                assert (after["rule"], after["zone"], after["label"]) == (
                    "person_in_epi_zone",
                    "roi_epi_on",
                    "person",
                )

                def delivered() -> bool:
                    with database.session() as session:
                        rows = session.scalars(
                            select(Delivery).where(Delivery.event_id == event["id"])
                        ).all()
                        return {r.sink for r in rows} == {"database", "mqtt"} and all(
                            r.status == DeliveryStatus.DELIVERED for r in rows
                        )

                assert wait_for(delivered, 30)
                # The monitors ran too: the board was told to sound the siren.
                command = board.read_line(timeout=20)
                assert command is not None
                assert json.loads(command) | {"id": None} == {
                    "type": "command",
                    "id": None,
                    "action": "siren",
                    "state": "on",
                    "duration_s": 5,
                }
                with database.session() as session:
                    alert = session.get(Alert, after["id"])
                    assert alert is not None and alert.zone == "roi_epi_on"

                proc.send_signal(signal.SIGTERM)
                output, _ = proc.communicate(timeout=60)
                assert proc.returncode == 0, output
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        text = log_file.read_text()
        assert "[SUPERVISOR] [INFO] pipeline running: 1 camera(s), alerts to database, mqtt" in text
        assert "outbox dispatching to 2 sink(s): database, mqtt" in text
        assert text.index("shutting down") < text.index(f"camera:{camera} stopped")
        assert "background stopped" in text
    finally:
        board.unplug()
        database.dispose()
        postgres_server.drop(database_url)


def test_supervisor_that_cannot_start_says_why_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on: the database is unreachable
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    unreachable = f"postgresql://postgres@127.0.0.1:{port}/none"
    write_inputs(tmp_path, unreachable, "cam61", tmp_path / "ttyUSB0")
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "atalaia", "supervisor", "--config", "site.yaml"),
            *("--prompts", "ppe.yaml", "--roi", "roi.json", "--log-file", "pipeline.log"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = (tmp_path / "pipeline.log").read_text()
    assert "[SUPERVISOR] [ERROR] could not start: StorageError: cannot migrate database" in text
    assert f"port {port} failed: Connection refused" in text

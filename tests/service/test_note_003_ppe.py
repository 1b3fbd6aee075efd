"""Note 003's safety camera end to end, with real models (issue 12's first "Done when").

`atalaia supervisor --config site.yaml --prompts ppe.yaml --roi roi.json --roi-polys
roi_epi_on` as a real subprocess. Its one camera runs two detectors on every frame: the
built-in YOLO11n finds the persons, helmet-detector's YOLOv12m (exported to ONNX by `atalaia
models export`: `With Helmet` / `Without Helmet`, a head detector, AGPL-3.0) finds their heads.
The video is the demo's pan over the photo shipped with YOLO11n: two cyclists walking their
bikes, both bare-headed, both found by the helmet model as `Without Helmet` on every frame at
this size. A `ppe_missing` rule on the ROI polygon `roi_epi_on` raises an alert per cyclist;
a real Mosquitto subscriber receives it on `atalaia/events`, its deliveries end `delivered`
in PostgreSQL, its snapshot is on disk, the ESP32 on a pty is told to sound the siren, and
SIGTERM exits 0.

The camera also sets `detect.classes: [person]` (the README's example next to a PPE rule): it
narrows what is shown and stored, never what the rule sees, so the head boxes still count.

Other tests: the supervisor refuses, before it starts anything, what `config check` refuses
about the prompts; the README's note-003 files are valid together.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from atalaia.cli.config_prompts import prompt_mapping
from atalaia.config import load_config
from atalaia.config.roi_merge import RoiSource
from atalaia.demo import demo_frames, write_video
from atalaia.storage.db import Database
from atalaia.storage.models import Alert, Delivery, DeliveryStatus
from tests.conftest import require_service
from tests.detect.tiny_models import constant_head_model, rtdetr_head
from tests.monitors.support import PtyBoard
from tests.service.test_supervisor_service import EventSubscriber, wait_for
from tests.storage.conftest import PostgresServer

FPS = 10
README = Path(__file__).resolve().parents[2] / "README.md"
NOTE_003_ARGS = (
    *("supervisor", "--config", "site.yaml", "--prompts", "ppe.yaml"),
    *("--roi", "roi.json", "--roi-polys", "roi_epi_on", "--log-file", "pipeline.log"),
)
# The prompts file as design note 003 writes it: no "missing" entry; `helmet` finds
# `Without Helmet`.
PPE_PROMPTS = "person: [person]\nequipment:\n  helmet: [helmet, hard hat]\n"


def roi_file(path: Path) -> None:
    """The lower 70 % of the frame is `roi_epi_on` (the cyclists' feet are in it); the other
    polygon is not asked for and must not become a zone."""
    polygons = {
        "roi_epi_on": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]],
        "roi_gate": [[0, 0], [0.2, 0], [0.2, 0.2]],
    }
    path.write_text(json.dumps(polygons))


def site_config(
    tmp_path: Path,
    *,
    database_url: str,
    camera: str,
    ppe_model: Path,
    board: Path,
    video: Path,
    rule: dict[str, Any] | None = None,
) -> None:
    config = {
        "data_dir": str(tmp_path / "data"),
        "database": {"url": database_url},
        "supervisor": {"heartbeat_interval": 0.5},
        "detectors": {
            "default": {"type": "onnx", "input_size": 320},
            "ppe": {"type": "onnx", "model": str(ppe_model)},
        },
        "media": {"pre_roll": 0.5, "post_roll": 0.5, "clip_fps": 5},
        "monitors": {
            "serial": {
                "port": str(board),
                "alert_commands": [
                    {
                        "match": {"rule_type": "ppe_missing"},
                        "command": {"action": "siren", "duration_s": 5},
                    }
                ],
            }
        },
        "sinks": [
            {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "discovery": False},
        ],
        "cameras": [
            {
                "id": camera,
                "source": {"url": str(video), "loop": True},
                # Two models on every frame; a 640 px YOLOv12m on a shared 2-core machine
                # may take longer than the default max_age to answer, so allow it 3 s.
                "detect": {
                    "fps": 2,
                    "detectors": ["default", "ppe"],
                    "classes": ["person"],
                    "max_age_ms": 3000,
                },
                "rules": [
                    {
                        "type": "ppe_missing",
                        "name": "no_helmet",
                        "zone": "roi_epi_on",
                        "required": ["helmet"],
                        "frames": 2,
                        "cooldown": 0,
                        **(rule or {}),
                    }
                ],
            }
        ],
    }
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_note_003_two_models_raise_ppe_missing_alerts_delivered_to_mqtt_and_database(
    tmp_path: Path, postgres_server: PostgresServer, helmet_onnx: Path
) -> None:
    require_service("Mosquitto", "127.0.0.1", 1883)
    camera = f"floor_{uuid.uuid4().hex[:8]}"
    database_url = postgres_server.create("note003")
    database = Database(database_url)
    board = PtyBoard(tmp_path)  # the ESP32 with the siren, on a real pty
    video = tmp_path / "cyclists.mp4"
    write_video(video, demo_frames(seconds=4, fps=FPS), FPS)
    roi_file(tmp_path / "roi.json")
    (tmp_path / "ppe.yaml").write_text(PPE_PROMPTS)
    site_config(
        tmp_path,
        database_url=database_url,
        camera=camera,
        ppe_model=helmet_onnx,
        board=board.path,
        video=video,
    )
    log_file = tmp_path / "pipeline.log"

    def log_text() -> str:
        return log_file.read_text() if log_file.exists() else "(no log)"

    try:
        with EventSubscriber(camera) as subscriber:
            proc = subprocess.Popen(
                [sys.executable, "-m", "atalaia", *NOTE_003_ARGS],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            try:
                assert wait_for(lambda: bool(subscriber.new_events()), 120), log_text()
                event = subscriber.new_events()[0]
                after = event["after"]
                assert event["type"] == "new"
                assert (after["rule"], after["rule_type"], after["zone"], after["label"]) == (
                    "no_helmet",
                    "ppe_missing",
                    "roi_epi_on",
                    "person",
                )
                assert after["extra"] == {"missing": ["helmet"]}
                # One alert per cyclist, each on its own person box (left and right half).
                assert wait_for(lambda: len(subscriber.new_events()) >= 2, 30), log_text()
                centres = []
                for new in subscriber.new_events():
                    assert new["after"]["rule"] == "no_helmet"
                    x, y, w, h = new["after"]["box"]
                    assert 80 <= w <= 260 and 200 <= h <= 360 and y < 200, new["after"]["box"]
                    centres.append(x + w / 2)
                assert min(centres) < 320 < max(centres), centres
                # The snapshot is attached: the event names it and it is on disk.
                snapshot = after["snapshot_path"]
                assert snapshot, after
                assert wait_for(lambda: Path(snapshot).is_file(), 10), snapshot

                def delivered() -> bool:
                    with database.session() as session:
                        rows = session.scalars(
                            select(Delivery).where(Delivery.event_id == event["id"])
                        ).all()
                        return {r.sink for r in rows} == {"database", "mqtt"} and all(
                            r.status == DeliveryStatus.DELIVERED for r in rows
                        )

                assert wait_for(delivered, 30), log_text()
                with database.session() as session:
                    alert = session.get(Alert, after["id"])
                    assert alert is not None
                    assert (alert.rule, alert.zone) == ("no_helmet", "roi_epi_on")
                    assert alert.snapshot_path == snapshot
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

                proc.send_signal(signal.SIGTERM)
                output, _ = proc.communicate(timeout=60)
                assert proc.returncode == 0, output
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
        text = log_text()
        # The prompt mapping the supervisor checked before starting, in its log.
        assert f"camera '{camera}' (models: default, ppe):" in text
        assert "helmet (head) -> ppe: With Helmet, Without Helmet (missing)" in text
        assert "[SUPERVISOR] [INFO] pipeline running: 1 camera(s), alerts to database, mqtt" in text
        assert "background stopped" in text
    finally:
        board.unplug()
        database.dispose()
        postgres_server.drop(database_url)


@pytest.fixture(scope="module")
def helmet_names_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real ONNX model whose metadata names the classes With Helmet / Without Helmet:
    the supervisor reads class names from the file, without running it."""
    head = rtdetr_head(300, 2, {0: [0.5, 0.3, 0.1, 0.1, 0.0, 0.9]})
    path = tmp_path_factory.mktemp("models") / "helmet.onnx"
    metadata = {"names": "{0: 'With Helmet', 1: 'Without Helmet'}"}
    return constant_head_model(path, [("output0", head)], metadata=metadata)


@pytest.mark.parametrize(
    ("prompts", "rule", "expected"),
    [
        (
            "[person, helmet, gloves]\n",
            {},
            "ppe.yaml: [2]: prompt 'gloves' matches no class of the models of camera 'floor' "
            "(site.yaml: cameras[0].detect.detectors: default, ppe)",
        ),
        (
            "[person, helmet]\n",
            {"required": ["helmet", "vest"]},
            "site.yaml: cameras[0].rules[0].required[1]: 'vest' is not declared in prompts file "
            "ppe.yaml (declared: helmet)",
        ),
    ],
    ids=["prompt_matching_no_class", "rule_equipment_not_in_prompts"],
)
def test_supervisor_refuses_what_config_check_refuses_about_prompts_before_starting(
    tmp_path: Path, helmet_names_model: Path, prompts: str, rule: dict[str, Any], expected: str
) -> None:
    with socket.socket() as s:  # nothing listens here: had it started, it would exit 1
        s.bind(("127.0.0.1", 0))
        unreachable = f"postgresql://postgres@127.0.0.1:{s.getsockname()[1]}/none"
    roi_file(tmp_path / "roi.json")
    (tmp_path / "ppe.yaml").write_text(prompts)
    site_config(
        tmp_path,
        database_url=unreachable,
        camera="floor",
        ppe_model=helmet_names_model,
        board=tmp_path / "ttyUSB0",
        video=tmp_path / "none.mp4",
        rule=rule,
    )
    done = subprocess.run(
        [sys.executable, "-m", "atalaia", *NOTE_003_ARGS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [expected]
    log = tmp_path / "pipeline.log"
    assert not log.exists() or "pipeline running" not in log.read_text()


def test_the_readme_note_003_files_pass_the_supervisor_checks(
    tmp_path: Path, helmet_names_model: Path
) -> None:
    """The README's site.yaml, ppe.yaml and roi.json (its PPE model path swapped for a real
    ONNX file with the same classes) load with the ROI merged and pass the prompt checks."""
    text = README.read_text()
    section = text[text.index("## The safety camera (note 003)") :]
    section = section[: section.index("\n## ")]
    command, site, prompts, roi = re.findall(r"```\n(.*?)```", section, re.S)
    assert command.split() == ["atalaia", *NOTE_003_ARGS[:-2]]
    (tmp_path / "site.yaml").write_text(
        site.replace("/models/helmet.onnx", str(helmet_names_model))
    )
    (tmp_path / "ppe.yaml").write_text(prompts)
    (tmp_path / "roi.json").write_text(roi)
    cfg = load_config(
        tmp_path / "site.yaml", roi=RoiSource(file=tmp_path / "roi.json", polygons=["roi_epi_on"])
    )
    cfg.prompts = tmp_path / "ppe.yaml"
    lines = prompt_mapping(cfg, tmp_path / "site.yaml")
    assert "  helmet (head) -> ppe: With Helmet, Without Helmet (missing)" in lines
    assert [z.name for z in cfg.cameras[0].zones] == ["roi_epi_on"]

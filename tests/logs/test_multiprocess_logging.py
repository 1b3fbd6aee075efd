"""Lines from spawned processes and the main process end up in one file, in the seed's format."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from atalaia.logs import SUPERVISOR_TAG, LogWriter, configure_process_logging, detector_tag
from tests.logs.children import log_lines
from tests.logs.support import parse_text_log

SPAWN = multiprocessing.get_context("spawn")
URL = "rtsp://admin:hunter2@10.0.0.5/stream"
TOKEN = "tok-3f9a8c7e51"


def run_children(writer: LogWriter, tags: list[str], count: int) -> None:
    children = [
        SPAWN.Process(target=log_lines, args=(writer.queue, tag, writer.level, count, URL, TOKEN))
        for tag in tags
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0, f"child exit code {child.exitcode}"


def test_two_processes_and_main_share_one_file_in_seed_format(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(level="INFO", fmt="text", file=path)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    log = logging.getLogger("atalaia.test.main")
    log.info("supervisor starting")

    camera, detector = "cam1", detector_tag("default")
    run_children(writer, [camera, detector], count=20)
    log.info("children finished")
    log.warning("camera said something", extra={"camera_id": "cam7"})
    assert writer.stop()

    records = parse_text_log(path.read_text(encoding="utf-8"))
    assert {r.tag for r in records} == {SUPERVISOR_TAG, camera, detector, "cam7"}
    now = datetime.now()
    for record in records:
        assert abs(record.ts - now) < timedelta(minutes=5), record
    for tag in (camera, detector):
        mine = [r for r in records if r.tag == tag]
        assert [r.msg for r in mine if r.level == "INFO"] == [
            f"line {i} from {tag}" for i in range(20)
        ]
        failed = [r for r in mine if r.msg == "camera failed"]
        assert len(failed) == 1 and failed[0].level == "ERROR"
        trace = failed[0].extra_lines
        assert trace[0] == "Traceback (most recent call last):"
        assert trace[-1] == "ConnectionError: cannot open rtsp://admin:***@10.0.0.5/stream"
    supervisor = [(r.level, r.msg) for r in records if r.tag == SUPERVISOR_TAG]
    assert supervisor == [("INFO", "supervisor starting"), ("INFO", "children finished")]
    assert [(r.level, r.msg) for r in records if r.tag == "cam7"] == [
        ("WARNING", "camera said something")
    ]
    # Records without a traceback are exactly one line.
    assert all(not r.extra_lines for r in records if r.msg != "camera failed")


def test_secrets_from_child_and_main_are_masked(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(level="INFO", fmt="text", file=path, known_secrets=[TOKEN])
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    log = logging.getLogger("atalaia.test.main")
    log.info("adding camera %s", URL)
    log.info("notifier token is %s", TOKEN)
    # A password with '@' in it, as users type them into camera URLs.
    log.info("adding camera rtsp://admin:s3cr@tPass@10.0.0.6/live")
    try:
        raise OSError(f"connection refused: {URL}")
    except OSError:
        log.exception("probe failed")
    run_children(writer, ["cam1"], count=1)
    assert writer.stop()

    text = path.read_text(encoding="utf-8")
    for secret in ("hunter2", TOKEN, "s3cr", "tPass"):
        assert secret not in text
    records = parse_text_log(text)
    masked = "rtsp://admin:***@10.0.0.5/stream"
    assert f"adding camera {masked}" in [r.msg for r in records if r.tag == SUPERVISOR_TAG]
    assert "notifier token is ***" in [r.msg for r in records if r.tag == SUPERVISOR_TAG]
    assert "adding camera rtsp://admin:***@10.0.0.6/live" in [r.msg for r in records]
    assert f"opening camera {masked} with token ***" in [r.msg for r in records if r.tag == "cam1"]
    probe = next(r for r in records if r.msg == "probe failed")
    assert probe.extra_lines[-1] == f"OSError: connection refused: {masked}"

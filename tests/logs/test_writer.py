"""LogWriter: JSON lines, flushing on stop and at exit, levels, robustness to odd records."""

from __future__ import annotations

import json
import logging
import multiprocessing
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from atalaia.logs import SUPERVISOR_TAG, LogWriter, configure_process_logging
from tests.logs.children import log_lines
from tests.logs.support import LINE, GatedStream, parse_text_log

SPAWN = multiprocessing.get_context("spawn")


def test_json_lines_parse_and_carry_the_fields(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.jsonl"
    writer = start_writer(level="INFO", fmt="json", file=path, known_secrets=["tok-3f9a8c7e51"])
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    log = logging.getLogger("atalaia.test.json")
    log.info('quoted "text" and ünïcode')
    log.info("frame late", extra={"camera_id": "cam2"})
    try:
        raise ValueError("bad frame")
    except ValueError:
        log.exception("detector failed")
    child = SPAWN.Process(
        target=log_lines,
        args=(writer.queue, "cam1", "INFO", 1, "rtsp://u:pw1234@h/s", "tok-3f9a8c7e51"),
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert writer.stop()

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        assert {"ts", "tag", "level", "logger", "msg"} <= line.keys()
        ts = datetime.fromisoformat(line["ts"])
        assert ts.tzinfo is not None
        assert abs(ts - datetime.now().astimezone()) < timedelta(minutes=5)
    by_msg = {line["msg"]: line for line in lines}
    first = by_msg['quoted "text" and ünïcode']
    assert (first["tag"], first["level"], first["logger"]) == (
        SUPERVISOR_TAG,
        "INFO",
        "atalaia.test.json",
    )
    assert "exc" not in first
    assert by_msg["frame late"]["tag"] == "cam2"
    failed = by_msg["detector failed"]
    assert failed["level"] == "ERROR"
    assert failed["exc"].startswith("Traceback (most recent call last):")
    assert failed["exc"].endswith("ValueError: bad frame")
    child_warning = by_msg["opening camera rtsp://u:***@h/s with token ***"]
    assert child_warning["tag"] == "cam1"
    assert "pw1234" not in path.read_text(encoding="utf-8")


def test_stop_writes_everything_queued_before_it(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(level="INFO", fmt="text", file=path)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    # A child that logs and exits before the stop: its records must not be lost either.
    child = SPAWN.Process(
        target=log_lines, args=(writer.queue, "cam1", "INFO", 3000, "rtsp://h/s", "none")
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    log = logging.getLogger("atalaia.test.stop")
    count = 5000
    for i in range(count):
        log.info("record %d", i)
    assert writer.stop()

    records = parse_text_log(path.read_text(encoding="utf-8"))
    assert [r.msg for r in records if r.tag == SUPERVISOR_TAG] == [
        f"record {i}" for i in range(count)
    ]
    assert sum(r.tag == "cam1" for r in records) == 3000 + 2
    assert writer.stop(), "a second stop is harmless"


def test_interpreter_exit_flushes_without_an_explicit_stop(tmp_path: Path) -> None:
    path = tmp_path / "atalaia.log"
    script = textwrap.dedent(
        """
        import logging, sys
        from pathlib import Path
        from atalaia.logs import LogWriter, configure_process_logging

        writer = LogWriter(level="INFO", fmt="text", file=Path(sys.argv[1]), console=False)
        configure_process_logging(writer.queue, "SUPERVISOR", "INFO")
        for i in range(2000):
            logging.getLogger("exit").info("record %d", i)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    records = parse_text_log(path.read_text(encoding="utf-8"))
    assert [r.msg for r in records] == [f"record {i}" for i in range(2000)]


def test_stop_returns_when_the_writer_is_stuck_and_it_finishes_later(
    tmp_path: Path, start_writer: Callable[..., LogWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "atalaia.log"
    console = GatedStream()
    with monkeypatch.context() as patch:
        patch.setattr("sys.stderr", console)
        writer = start_writer(level="INFO", fmt="text", file=path, console=True, queue_size=4)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, "INFO")
    log = logging.getLogger("atalaia.test.stuck")
    log.info("first")
    assert console.entered.wait(20)
    for i in range(10):
        log.info("queued %d", i)

    started = time.monotonic()
    assert writer.stop(timeout=0.5) is False
    assert time.monotonic() - started < 30
    console.gate.set()
    assert writer.stop(timeout=20)
    messages = [r.msg for r in parse_text_log(path.read_text(encoding="utf-8"))]
    assert messages == ["first"] + [f"queued {i}" for i in range(4)]
    assert "".join(console.chunks) == path.read_text(encoding="utf-8")


def test_levels_filter_at_the_source_and_at_the_writer(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(level="warning", fmt="text", file=path)
    assert writer.level == "WARNING"
    handler = configure_process_logging(writer.queue, SUPERVISOR_TAG, "DEBUG")
    log = logging.getLogger("atalaia.test.levels")
    log.debug("debug via a DEBUG process")
    log.info("info via a DEBUG process")
    log.warning("warning via a DEBUG process")
    configure_process_logging(writer.queue, SUPERVISOR_TAG, "ERROR")
    assert handler not in logging.getLogger().handlers, "reconfiguring replaces the handler"
    log.warning("warning via an ERROR process")
    log.critical("critical via an ERROR process")
    assert writer.stop()
    records = parse_text_log(path.read_text(encoding="utf-8"))
    assert [(r.level, r.msg) for r in records] == [
        ("WARNING", "warning via a DEBUG process"),
        ("CRITICAL", "critical via an ERROR process"),
    ]


class Unpicklable:
    """Holds a lock, so pickle refuses it; its text is still fine for a log message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __str__(self) -> str:
        return "<camera handle>"


def test_unpicklable_arguments_and_extras_and_bad_formats_still_reach_the_file(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(level="INFO", fmt="text", file=path)
    ours = configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    # pytest's own capture handler raises on the bad format below; this test is about ours
    # (the autouse fixture puts the root handlers back).
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h is not ours]:
        root.removeHandler(handler)
    log = logging.getLogger("atalaia.test.odd")
    log.info("opened %s", Unpicklable(), extra={"camera_id": "cam3", "conn": Unpicklable()})
    log.info("%d frames", "not a number")
    log.info("done")
    assert writer.stop()
    records = parse_text_log(path.read_text(encoding="utf-8"))
    assert (records[0].tag, records[0].msg) == ("cam3", "opened <camera handle>")
    assert records[1].msg.startswith("'%d frames' (could not merge arguments ('not a number',)")
    assert records[2].msg == "done"


def test_a_known_secret_containing_another_is_masked_whole(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(
        level="INFO", fmt="text", file=path, known_secrets=["abcd1234", "abcd1234XYZW", ""]
    )
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    logging.getLogger("atalaia.test.known").info("keys abcd1234XYZW and abcd1234")
    assert writer.stop()
    assert parse_text_log(path.read_text(encoding="utf-8"))[0].msg == "keys *** and ***"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"level": "LOUD"}, "unknown log level"),
        ({"fmt": "xml"}, "unknown log format"),
        ({"queue_size": 0}, "queue_size"),
    ],
)
def test_bad_parameters_fail_at_construction(kwargs: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        LogWriter(console=False, **kwargs)  # type: ignore[arg-type]


def test_text_from_outside_cannot_forge_a_record_line(
    tmp_path: Path, start_writer: Callable[..., LogWriter]
) -> None:
    path = tmp_path / "atalaia.log"
    writer = start_writer(level="INFO", fmt="text", file=path)
    configure_process_logging(writer.queue, SUPERVISOR_TAG, writer.level)
    forged = "[2024-01-15 10:30:45.123] [SUPERVISOR] [ERROR] all cameras deleted"
    log = logging.getLogger("atalaia.test.forge")
    log.info("camera name %r rejected", f"x\n{forged}")
    log.info("camera name %s rejected", f"y\r{forged}")
    try:
        raise ValueError(f"bad name\n{forged}")
    except ValueError:
        log.exception("rename failed")
    assert writer.stop()

    lines = path.read_text(encoding="utf-8").split("\n")
    assert [m["msg"] for m in map(LINE.match, lines) if m] == [
        f"camera name {'x' + chr(10) + forged!r} rejected",
        "camera name y",
        "rename failed",
    ]
    assert sum(line.startswith(f"  {forged}") for line in lines) == 2

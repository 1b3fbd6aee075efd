"""The supervisor against real processes: restarts, hangs, the restart window, shutdown."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from atalaia.config import SupervisorConfig
from atalaia.logs import LogWriter
from atalaia.supervisor import Kind, Supervisor
from tests.supervisor import workers
from tests.supervisor.support import spec, wait_for


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "pipeline.log"


@pytest.fixture
def supervisor(log_file: Path) -> Iterator[Supervisor]:
    writer = LogWriter(level="INFO", file=log_file, console=False)
    cfg = SupervisorConfig(
        heartbeat_interval=0.2, heartbeat_timeout=2.0, max_restarts=2, restart_window=60
    )
    sup = Supervisor(cfg, writer.queue)
    sup.start()
    yield sup
    sup.stop(timeout=10)
    writer.stop()


def test_heartbeats_and_logs_arrive(supervisor: Supervisor, log_file: Path) -> None:
    supervisor.add(spec("cam1", workers.steady))
    assert wait_for(lambda: supervisor.status()["cam1"]["stats"].get("beats", 0) > 0)
    status = supervisor.status()["cam1"]
    assert status["state"] == "running" and status["last_heartbeat_age_s"] < 2
    supervisor.stop(timeout=10)
    text = log_file.read_text()
    assert "[CAM1] [INFO] worker cam1 up with secret rtsp://admin:***@cam/s" in text
    assert "hunter2" not in text


def test_kill_9_is_restarted_others_untouched(supervisor: Supervisor) -> None:
    supervisor.add(spec("cam1", workers.steady))
    supervisor.add(spec("cam2", workers.steady))
    assert wait_for(lambda: all(s["stats"] for s in supervisor.status().values()))
    pid1, pid2 = supervisor.status()["cam1"]["pid"], supervisor.status()["cam2"]["pid"]
    os.kill(pid1, signal.SIGKILL)
    assert wait_for(
        lambda: (
            supervisor.status()["cam1"]["pid"] not in (None, pid1)
            and supervisor.status()["cam1"]["state"] == "running"
        )
    )
    status = supervisor.status()
    assert status["cam1"]["restarts"] == 1 and "exited with code -9" in status["cam1"]["reason"]
    assert status["cam2"]["pid"] == pid2 and status["cam2"]["restarts"] == 0


def test_hung_process_is_restarted(supervisor: Supervisor) -> None:
    supervisor.add(spec("stuck", workers.hangs))
    assert wait_for(lambda: supervisor.status()["stuck"]["restarts"] >= 1, timeout=20)
    assert "no heartbeat progress" in supervisor.status()["stuck"]["reason"]


def test_loading_longer_than_the_heartbeat_timeout_is_not_a_hang(log_file: Path) -> None:
    """Before its first progress a child is loading (models, TensorRT engines): judged by
    `start_timeout`, not `heartbeat_timeout`; once working, by the heartbeat timeout again."""
    writer = LogWriter(level="INFO", file=log_file, console=False)
    cfg = SupervisorConfig(heartbeat_interval=0.2, heartbeat_timeout=1.0, start_timeout=6.0)
    sup = Supervisor(cfg, writer.queue)
    sup.start()
    try:
        sup.add(spec("slow", workers.loads_slowly))
        sup.add(spec("stuck_loading", workers.never_starts))
        assert wait_for(lambda: sup.status()["slow"]["stats"].get("beats", 0) > 0, timeout=10)
        assert sup.status()["slow"]["restarts"] == 0
        assert wait_for(lambda: sup.status()["stuck_loading"]["restarts"] >= 1, timeout=15)
        reason = sup.status()["stuck_loading"]["reason"]
        assert "still starting after" in reason and "start_timeout 6.0s" in reason, reason
        assert sup.status()["slow"]["restarts"] == 0
    finally:
        sup.stop(timeout=10)
        writer.stop()


def test_restart_window_stops_restarts_and_says_why(supervisor: Supervisor, log_file: Path) -> None:
    supervisor.add(spec("bad", workers.crashes))
    assert wait_for(lambda: supervisor.status()["bad"]["state"] == "failed", timeout=40)
    status = supervisor.status()["bad"]
    assert status["restarts"] == 2
    assert "not restarted: more than 2 restarts within 60s" in status["reason"]
    time.sleep(1.5)
    assert supervisor.status()["bad"]["restarts"] == 2  # no more attempts
    supervisor.stop(timeout=10)
    text = log_file.read_text()
    assert "RuntimeError: boom from bad" in text  # the crash traceback reached the log


def test_shutdown_is_ordered_and_bounded(supervisor: Supervisor, tmp_path: Path) -> None:
    cam, det = tmp_path / "cam.stop", tmp_path / "det.stop"
    supervisor.add(spec("det", workers.steady, kind=Kind.DETECTOR, stop_file=str(det)))
    supervisor.add(spec("cam", workers.steady, stop_file=str(cam)))
    assert wait_for(lambda: all(s["stats"] for s in supervisor.status().values()))
    pids = [s["pid"] for s in supervisor.status().values()]
    started = time.monotonic()
    supervisor.stop(timeout=10)
    assert time.monotonic() - started < 10
    assert float(cam.read_text()) <= float(det.read_text())  # cameras stop before detectors
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_remove_and_restart(supervisor: Supervisor) -> None:
    supervisor.add(spec("cam1", workers.steady))
    assert wait_for(lambda: bool(supervisor.status()["cam1"]["stats"]))
    pid = supervisor.status()["cam1"]["pid"]
    supervisor.restart("cam1")
    assert wait_for(lambda: supervisor.status()["cam1"]["pid"] != pid)
    assert supervisor.status()["cam1"]["restarts"] == 0  # a requested restart is not a failure
    new_pid = supervisor.status()["cam1"]["pid"]
    supervisor.remove("cam1")
    assert "cam1" not in supervisor.status()
    with pytest.raises(ProcessLookupError):
        os.kill(new_pid, 0)


def _stats_of_each_new_process(
    supervisor: Supervisor, name: str, old_pid: int, timeout: float = 30.0
) -> list[tuple[int, dict[str, object]]]:
    """(pid, stats) as seen from the moment a new process is reported until its stats come."""
    seen: list[tuple[int, dict[str, object]]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = supervisor.status()[name]
        pid = status["pid"]
        if pid is not None and pid != old_pid:
            seen.append((pid, status["stats"]))
            if status["stats"]:
                return seen
        time.sleep(0.002)
    raise AssertionError(f"{name}: no stats from a new process within {timeout}s: {seen[-3:]}")


@pytest.mark.parametrize("how", ["kill -9", "restart"])
def test_stats_belong_to_the_live_process(supervisor: Supervisor, how: str) -> None:
    """Right after a restart the status must not show the dead process's counters under the
    new pid: empty until the new process reports, then the new process's own."""
    supervisor.add(spec("cam1", workers.counts_with_pid))
    assert wait_for(lambda: supervisor.status()["cam1"]["stats"].get("beats", 0) > 50)
    old_pid = supervisor.status()["cam1"]["pid"]
    assert supervisor.status()["cam1"]["stats"]["pid"] == old_pid
    if how == "kill -9":
        os.kill(old_pid, signal.SIGKILL)
    else:
        supervisor.restart("cam1")
    seen = _stats_of_each_new_process(supervisor, "cam1", old_pid)
    for pid, stats in seen:
        assert not stats or stats["pid"] == pid, (pid, stats)
    new_pid, stats = seen[-1]
    assert stats["pid"] == new_pid and stats["beats"] < 50  # counted by the new process alone


@pytest.mark.parametrize("nice", [10, 0])
def test_children_run_below_the_service_priority(log_file: Path, nice: int) -> None:
    """`supervisor.nice`: camera and detector processes yield the CPU to interactive programs
    (the desktop viewer); 0 leaves them at the service's own priority."""
    writer = LogWriter(level="INFO", file=log_file, console=False)
    sup = Supervisor(SupervisorConfig(heartbeat_interval=0.2, nice=nice), writer.queue)
    sup.start()
    try:
        sup.add(spec("cam1", workers.steady))
        assert wait_for(lambda: sup.status()["cam1"]["stats"].get("beats", 0) > 0)
        child = psutil.Process(sup.status()["cam1"]["pid"])
        assert child.nice() == min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    finally:
        sup.stop(timeout=10)
        writer.stop()

"""The command line: help, exit statuses, the service coming up, the supervisor's flags."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from atalaia.cli.main import app
from atalaia.cli.supervisor_cmd import spread_multi_values
from atalaia.frames.ring import ring_owner

runner = CliRunner()


@pytest.mark.parametrize("command", [[], ["run"], ["config"], ["config", "check"], ["supervisor"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_supervisor_help_lists_the_seed_flags_with_defaults() -> None:
    out = runner.invoke(app, ["supervisor", "--help"], terminal_width=200).output
    for flag in ("--config", "--prompts", "--roi", "--roi-polys"):
        assert flag in out
    for flag, default in [
        ("--log-file", "pipeline.log"),
        ("--heartbeat-timeout", "30.0"),
        ("--max-restarts", "5"),
        ("--restart-window", "3600.0"),
    ]:
        line = next(ln for ln in out.splitlines() if flag in ln)
        assert f"[default: {default}]" in line or f"default: {default}" in out
    assert out.count("[required]") == 2


def test_roi_polys_takes_several_names_like_argparse() -> None:
    argv = ["supervisor", "--roi-polys", "a", "b", "--max-restarts", "3"]
    assert spread_multi_values(argv) == [
        "supervisor",
        "--roi-polys",
        "a",
        "--roi-polys",
        "b",
        "--max-restarts",
        "3",
    ]


def supervisor_inputs(tmp_path: Path) -> list[str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "supervisor_heartbeat_timeout: 20\n"
        "supervisor: {heartbeat_interval: 0.5}\n"
        "detectors: {default: {type: onnx, input_size: 320}}\n"
        "cameras:\n  - id: cam61\n    source: demo://people\n"
    )
    prompts = tmp_path / "p.yaml"
    prompts.write_text("equipment:\n  helmet: [helmet]\n")
    roi = tmp_path / "roi.json"
    roi.write_text(
        json.dumps({"roi_epi_on": [[0, 0], [10, 0], [10, 10]], "other": [[0, 0], [1, 0], [1, 1]]})
    )
    return ["supervisor", "--config", str(cfg), "--prompts", str(prompts), "--roi", str(roi)]


def test_supervisor_rejects_bad_inputs(tmp_path: Path) -> None:
    base = supervisor_inputs(tmp_path)
    missing = runner.invoke(app, [*base, "--roi-polys", "nope"])
    assert missing.exit_code == 2 and "no polygon named 'nope'" in missing.output

    bad_prompts = runner.invoke(app, [*base[:3], "--prompts", str(tmp_path / "none.yaml")])
    assert bad_prompts.exit_code == 2 and "none.yaml" in bad_prompts.output

    no_roi = runner.invoke(app, [*base[:5], "--roi-polys", "roi_epi_on"])
    assert no_roi.exit_code == 2 and "--roi-polys needs --roi" in no_roi.output

    bad_timeout = runner.invoke(app, [*base, "--heartbeat-timeout", "0.1"])
    assert bad_timeout.exit_code == 2 and "--heartbeat-timeout" in bad_timeout.output


def shm_segments(owner: int) -> set[str]:
    """The frame rings created by process `owner`."""
    return {p.name for p in Path("/dev/shm").glob("atalaia-*") if ring_owner(p.name) == owner}


def test_supervisor_runs_the_pipeline_and_leaves_nothing_after_kill_9(tmp_path: Path) -> None:
    log_file = tmp_path / "pipeline.log"
    argv = [*supervisor_inputs(tmp_path), "--roi-polys", "roi_epi_on", "--log-file", str(log_file)]
    proc = atalaia(*argv, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "camera cam61 connected" not in (
            log_file.read_text() if log_file.exists() else ""
        ):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        text = log_file.read_text()
        assert "[SUPERVISOR] [INFO] pipeline running: 1 camera(s)" in text
        assert "[DETECTOR:default] [INFO] camera cam61 connected" in text
        assert "[cam61] [INFO] camera:cam61 started" in text
        assert shm_segments(proc.pid)  # the camera's frame ring exists while it runs
        children = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)  # the supervisor itself dies without cleaning up
        proc.wait(10)
        # Its children notice and exit; the ring is unlinked by the resource tracker.
        _gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive
        deadline = time.monotonic() + 20
        while shm_segments(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not shm_segments(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_supervisor_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    log_file = tmp_path / "pipeline.log"
    proc = atalaia(*supervisor_inputs(tmp_path), "--log-file", str(log_file))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "camera cam61 connected" not in (
        log_file.read_text() if log_file.exists() else ""
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    text = log_file.read_text()
    assert "shutting down" in text and "camera:cam61 stopped" in text
    assert text.index("camera:cam61 stopped") < text.index("detector:default stopped")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def atalaia(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "atalaia", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,  # type: ignore[call-overload]
    )


def test_bad_config_exits_2_from_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "cameras:\n  - id: a\n    source: {url: 'rtsp://admin:s3cr3tpw@cam/x'}\n"
        "  - id: a\n    source: rtsp://b/x\n"
    )
    proc = atalaia("run", "--config", str(bad))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert str(bad) in out and "cameras[1].id" in out and "line 4" in out
    assert "s3cr3tpw" not in out


def test_run_serves_health_on_localhost(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "ATALAIA_DATA_DIR": str(tmp_path / "data"),
        "ATALAIA_LOGGING__CONSOLE": "false",
        "ATALAIA_SERVER__TOKEN": "cli-test-token-0123",
    }
    proc = atalaia("run", "--port", str(port), env=env)
    try:
        deadline = time.monotonic() + 60
        body = None
        url = f"http://127.0.0.1:{port}/background/health"
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(url, timeout=2)
                if r.status_code == 200:
                    assert r.json() == {"status": "ok"} or set(r.json()) == {"status", "reason"}
                    # The details are for the token's holder.
                    auth = {"Authorization": "Bearer cli-test-token-0123"}
                    body = httpx.get(url, headers=auth, timeout=2).json()
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert body is not None, (
            proc.stdout.read() if proc.poll() is not None and proc.stdout else "no answer"
        )
        assert body["status"] == "ok" and body["startup_completed"] is True
        assert body["checks"]["database"] == "ok"
        assert (tmp_path / "data" / "atalaia.db").exists()
        assert (tmp_path / "data" / "demo" / "people.mp4").stat().st_size > 0
        assert body["pipeline"]["running"] and "demo" in body["pipeline"]["cameras"]
        listening = {
            c.laddr.ip
            for c in psutil.Process(proc.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        assert listening == {"127.0.0.1"}  # localhost unless told otherwise
    finally:
        # SIGTERM, as systemd and docker stop a service: a clean exit, not death by signal.
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    assert "leaked" not in out  # multiprocessing's finalizers ran (no resource-tracker warning)
    log = (tmp_path / "data" / "atalaia.log").read_text()
    assert "[SUPERVISOR] [INFO] atalaia listening on http://127.0.0.1:" in log
    assert "background stopped" in log
    assert log.rstrip().endswith("atalaia stopped")  # the writer flushed its last line

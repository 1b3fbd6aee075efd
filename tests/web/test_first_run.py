"""A newcomer's first minute: `atalaia run` with no configuration file in an empty folder, as
`make run` starts it, signed in with the token it prints, shows the demo camera's alerts with
their snapshot in the console within 90 s, a clip that plays, and alerts that end.

The service here is its own (embedded defaults, a fresh data directory), not the one the other
browser tests share.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import in_ci
from tests.web.support import free_port, image_loaded, shot, wait_for

try:
    from playwright.sync_api import Browser, expect
except ImportError:  # the browser_available fixture says what to install
    if in_ci():
        raise
    pytest.skip("the Python package `playwright` is missing", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("browser_available")

FIRST_ALERT_WITHIN_S = 90.0
# What `announce_token` prints at first start: a header line, then the token alone on a line.
_TOKEN_LINE = re.compile(r"generated an API token[^\n]*\n\s*(\S+)\s*\n")


@dataclass
class FirstRun:
    url: str
    token: str
    started: float  # time.monotonic() when `atalaia run` was started
    output: Path

    def tail(self) -> str:
        return self.output.read_text(errors="replace")[-3000:]


def printed_token(output: Path) -> str | None:
    match = _TOKEN_LINE.search(output.read_text(errors="replace"))
    return match.group(1) if match else None


@pytest.fixture(scope="module")
def first_run(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FirstRun]:
    """`atalaia run` in an empty folder: no configuration file, no data directory yet. Only
    the port is chosen, so that it cannot clash with anything else on the machine."""
    root = tmp_path_factory.mktemp("first-run")
    port = free_port()
    output = root / "console.out"
    # ATALAIA_* variables override the defaults: the developer's own must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATALAIA_")}
    env["PYTHONUNBUFFERED"] = "1"
    started = time.monotonic()
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "atalaia", "run", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
        )
    run = FirstRun(f"http://127.0.0.1:{port}", "", started, output)
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"atalaia run exited with {process.returncode}:\n{run.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(run.url + "/background/health", timeout=2).status_code == 200
            return False

        wait_for(healthy, FIRST_ALERT_WITHIN_S, step=0.3, what="atalaia run to answer")
        run.token = wait_for(lambda: printed_token(output), 10, what="the token printed")
        assert (root / "data" / "atalaia.db").exists()  # the defaults' data directory
        yield run
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(45)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def test_a_fresh_start_shows_alerts_with_snapshots_and_clips(
    browser: Browser, first_run: FirstRun
) -> None:
    context = browser.new_context(
        base_url=first_run.url, viewport={"width": 1440, "height": 900}, device_scale_factor=1
    )
    context.set_default_timeout(20_000)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/")
        page.get_by_label("API token").fill(first_run.token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        page.goto("/#/alerts")

        def left_ms() -> float:
            return max(1.0, (FIRST_ALERT_WITHIN_S - (time.monotonic() - first_run.started)) * 1000)

        first = page.locator(".alert-row").first
        expect(first).to_be_visible(timeout=left_ms())  # page one refreshes itself
        image_loaded(page, ".alert-row img", timeout=left_ms())
        seen_after = time.monotonic() - first_run.started
        assert seen_after <= FIRST_ALERT_WITHIN_S, f"first alert shown after {seen_after:.0f}s"
        expect(first).to_contain_text("Person")
        expect(first).to_contain_text("Demo camera")
        expect(first).to_contain_text("person_on_path")
        expect(first).to_contain_text("zone path")

        # Alerts end when the person leaves the zone: not one alert that lasts forever.
        ended = page.locator('.alert-row .badge[data-state="ended"]').first
        expect(ended).to_contain_text("Lasted", timeout=60_000)
        image_loaded(page, ".alert-row img")
        shot(page, "first-run-alerts.png")

        # The alert's clip plays in the browser.
        page.locator(".alert-row").last.click()
        image_loaded(page, "img.snapshot")
        clip = page.get_by_role("tab", name="Clip")
        expect(clip).to_be_enabled(timeout=30_000)
        clip.click()
        page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.readyState >= 1"
            " && v.duration > 0; }",
            timeout=30_000,
        )

        # The dashboard shows the demo camera's zone and what it tracks.
        page.goto("/#/dashboard")
        tile = page.locator('.tile[data-camera="demo"]')
        expect(tile).to_have_attribute("data-state", "online", timeout=30_000)
        expect(tile.locator(".tile-tracking")).to_contain_text("person", timeout=30_000)
        image_loaded(page, '.tile[data-camera="demo"] img.live')
        expect(tile).to_have_class(re.compile(r"\bhas-frame\b"))
        page.wait_for_timeout(500)  # the live picture fades in
        shot(page, "first-run-dashboard.png")
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"

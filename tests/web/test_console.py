"""The web console in a real browser, against `atalaia run` with the real detector.

One service for the whole module (the demo camera with a person rule, an unreachable camera and
a webhook that refuses its first alert); each test has its own browser context. The tests run
in file order: zones and rules are changed only after the alert tests, because a change
restarts that camera.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import in_ci
from tests.web.support import TOKEN, Service, image_loaded, shot, wait_for

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the browser_available fixture says what to install
    if in_ci():
        raise
    pytest.skip("the Python package `playwright` is missing", allow_module_level=True)

expect.set_options(timeout=10_000)

pytestmark = pytest.mark.usefixtures("browser_available")


def test_sign_in_wrong_token_then_right_then_sign_out(page: Page, service: Service) -> None:
    page.goto("/")
    token = page.get_by_label("API token")
    expect(token).to_be_focused()
    shot(page, "signin.png")
    token.fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert not [c for c in page.context.cookies() if c["name"] == "atalaia_token"]

    token.fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "atalaia_token"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["expires"] == -1  # a session cookie unless "keep me signed in" is ticked
    # The token is nowhere a script can read it.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert "atalaia_token" not in page.evaluate("document.cookie")

    page.reload()  # the session survives a reload
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "atalaia_token"]


def test_dashboard_live_view_and_states(signed_in: Page, service: Service) -> None:
    page = signed_in
    page.goto("/#/dashboard")
    dock = page.locator('.tile[data-camera="dock"]')
    expect(dock).to_have_attribute("data-state", "online", timeout=60_000)
    image_loaded(page, '.tile[data-camera="dock"] img.live')
    src = dock.locator("img.live").get_attribute("src") or ""
    assert "/api/cameras/dock/live.mjpeg" in src
    box = dock.locator("img.live").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    expect(dock.locator(".tile-stats")).to_contain_text("fps")

    gate = page.locator('.tile[data-camera="gate"]')
    expect(gate).to_have_attribute("data-state", re.compile("offline|reconnecting"), timeout=30_000)
    expect(gate.locator(".no-signal")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("1 / 2")
    expect(page.locator("body")).not_to_contain_text("gate-secret")

    expect(dock.locator(".tile-tracking")).to_contain_text("person", timeout=30_000)
    # The demo's people raise alerts: the strip counts today's.
    page.wait_for_function(
        "() => Number(document.querySelector('.summary [data-count]')?.dataset.count) > 0",
        timeout=30_000,
    )
    image_loaded(page, '.tile[data-camera="dock"] img.live')
    shot(page, "dashboard.png")


def _alert_with_dead_delivery(service: Service) -> tuple[str, int] | None:
    with service.client() as client:
        for alert in client.get("/api/events", params={"limit": 100}).json()["items"]:
            for delivery in client.get(f"/api/events/{alert['id']}/deliveries").json():
                if delivery["status"] == "dead":
                    return alert["id"], delivery["delivery_id"]
    return None


def test_alerts_timeline_filters_and_detail(signed_in: Page, service: Service) -> None:
    page = signed_in
    page.goto("/#/alerts")
    first = page.locator(".alert-row").first
    expect(first).to_be_visible(timeout=60_000)  # page one refreshes itself
    expect(first).to_contain_text("Person")
    expect(first).to_contain_text("Loading dock")
    with service.client() as client:
        listed = {a["id"] for a in client.get("/api/events").json()["items"]}
    assert first.get_attribute("data-alert-id") in listed
    image_loaded(page, ".alert-row img")

    page.get_by_label("Camera").select_option("gate")
    expect(page.locator(".empty")).to_contain_text("No alerts match")
    assert "camera=gate" in page.url
    page.get_by_label("Camera").select_option("dock")
    expect(page.locator(".alert-row").first).to_be_visible()
    page.get_by_label("Camera").select_option("")
    expect(page.locator(".alert-row").first).to_be_visible()
    wait_for(lambda: page.locator(".alert-row").count() >= 2, 30, what="a second alert")
    image_loaded(page, ".alert-row img")

    # The webhook refused the first delivery and the sink gave up on it: retry from the page.
    found = wait_for(lambda: _alert_with_dead_delivery(service), 60, what="a dead delivery")
    alert_id, delivery_id = found
    page.goto(f"/#/alerts/{alert_id}")
    image_loaded(page, "img.snapshot")
    dead = page.locator('tr[data-status="dead"]')
    expect(dead).to_contain_text("ops-webhook")
    expect(page.locator('tr[data-status="delivered"]').first).to_contain_text("database")
    dead.get_by_role("button", name="Retry delivery to ops-webhook").click()
    expect(page.locator('tr[data-status="dead"]')).to_have_count(0, timeout=30_000)

    def delivered() -> bool:
        with service.client() as client:
            rows = client.get(f"/api/events/{alert_id}/deliveries").json()
        return any(r["delivery_id"] == delivery_id and r["status"] == "delivered" for r in rows)

    wait_for(delivered, 30, what="the retried delivery to be delivered")
    row = page.locator(f'tr[data-delivery="{delivery_id}"]')
    expect(row).to_have_attribute("data-status", "delivered", timeout=15_000)  # page refreshes
    # The clip plays in the browser: Chromium reads its metadata (H.264 in MP4).
    clip = page.get_by_role("tab", name="Clip")
    expect(clip).to_be_enabled(timeout=30_000)
    clip.click()
    expect(page.locator("video")).to_be_visible()
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1"
        " && v.duration > 0; }",
        timeout=30_000,
    )
    page.get_by_role("tab", name="Snapshot").click()
    image_loaded(page, "img.snapshot")
    shot(page, "alert-detail.png")


def test_draw_and_save_a_zone_then_a_rule_on_it(signed_in: Page, service: Service) -> None:
    page = signed_in
    page.goto("/#/cameras/dock?tab=zones")
    canvas = page.locator("canvas.zone-canvas")
    expect(canvas).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="New zone").click()
    page.get_by_label("Zone name").fill("loading_bay")
    box = canvas.bounding_box()
    assert box is not None
    corners = [(0.10, 0.50), (0.60, 0.45), (0.70, 0.95), (0.05, 0.90)]
    for x, y in [*corners, corners[0]]:  # clicking the first point again closes the zone
        page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])
    expect(canvas).to_have_attribute("data-drawing", "false")
    expect(canvas).to_have_attribute("data-zones", "1")
    shot(page, "zones.png")
    page.get_by_role("button", name="Save zones").click()
    expect(page.locator(".toast")).to_contain_text("Zones saved")

    with service.client() as client:
        zones = client.get("/api/cameras/dock/zones").json()
    assert [z["name"] for z in zones] == ["loading_bay"]
    assert zones[0]["relative"] is True
    assert len(zones[0]["points"]) == 4
    for (x, y), (sx, sy) in zip(corners, zones[0]["points"], strict=True):
        assert abs(x - sx) < 0.01 and abs(y - sy) < 0.01

    # The new zone is offered to rules at once.
    page.get_by_role("tab", name="Rules").click()
    page.get_by_role("button", name="Add rule").click()
    card = page.locator(".rule-card").nth(1)
    card.get_by_label("Type").select_option("loitering")
    card = page.locator(".rule-card").nth(1)  # the card is redrawn for the new type
    card.get_by_label("Name").fill("bay_loitering")
    card.get_by_label("Zone").select_option("loading_bay")
    card.get_by_label("After (seconds)").fill("45")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".toast").last).to_contain_text("Rules saved")
    with service.client() as client:
        rules = client.get("/api/cameras/dock/rules").json()
    assert [r["type"] for r in rules] == ["object_in_zone", "loitering"]
    assert rules[1]["zone"] == "loading_bay" and rules[1]["seconds"] == 45
    assert rules[1]["name"] == "bay_loitering"


def test_add_edit_and_delete_a_camera(signed_in: Page, service: Service) -> None:
    page = signed_in
    page.goto("/#/cameras")
    page.get_by_role("link", name="Add camera").first.click()
    page.get_by_label("Camera id").fill("yard")
    page.get_by_label("Name").fill("Back yard")
    page.get_by_label("Source URL").fill("rtsp://admin:yard-pass@127.0.0.1:9/stream")
    page.get_by_label("Enabled: capture and analyse this camera").uncheck()
    page.get_by_role("button", name="Add camera").click()
    expect(page.locator(".toast")).to_contain_text("Back yard added")
    expect(page.get_by_role("tab", name="Zones")).to_have_attribute("aria-selected", "true")

    with service.client() as client:
        camera: dict[str, Any] = client.get("/api/cameras/yard").json()
    assert camera["name"] == "Back yard" and camera["enabled"] is False
    assert camera["source"]["url"] == "rtsp://admin:***@127.0.0.1:9/stream"

    page.get_by_role("tab", name="Settings").click()
    url = page.get_by_label("Source URL")
    expect(url).to_have_value("rtsp://admin:***@127.0.0.1:9/stream")
    page.get_by_label("Name").fill("Back yard (north)")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".toast").last).to_contain_text("Settings saved")
    with service.client() as client:
        camera = client.get("/api/cameras/yard").json()
    assert camera["name"] == "Back yard (north)"
    assert camera["source"]["url"] == "rtsp://admin:***@127.0.0.1:9/stream"  # password kept

    page.goto("/#/cameras")
    row = page.locator('tr[data-camera="yard"]')
    expect(row).to_contain_text("Disabled")
    expect(page.locator("body")).not_to_contain_text("yard-pass")
    row.get_by_role("button", name="Delete Back yard (north)").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete Back yard (north)?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()
    row.get_by_role("button", name="Delete Back yard (north)").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete camera").click()
    expect(page.locator('tr[data-camera="yard"]')).to_have_count(0)
    with service.client() as client:
        assert client.get("/api/cameras/yard").status_code == 404


@pytest.mark.alone
def test_webcam_frames_come_back_with_boxes(signed_in: Page, service: Service) -> None:
    page = signed_in
    page.goto("/#/webcam")
    page.get_by_role("button", name="Start camera").click()
    overlay = "document.querySelector('canvas.webcam-overlay').dataset"
    page.wait_for_function(f"() => Number({overlay}.detections) > 0", timeout=45_000)
    drawn = page.evaluate(
        """() => {
            const c = document.querySelector('canvas.webcam-overlay');
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
        }"""
    )
    assert drawn > 1000, f"only {drawn} pixels drawn on the overlay"
    expect(page.locator(".found-list")).to_contain_text("person")
    expect(page.locator(".webcam-connection")).to_contain_text("Detecting")
    # Frames keep going, one at a time at the server's pace (1 s by default): a second answer.
    page.wait_for_function(f"() => Number({overlay}.frames) >= 2", timeout=30_000)
    shot(page, "webcam.png")
    page.get_by_role("button", name="Stop camera").click()
    expect(page.locator(".webcam-connection")).to_contain_text("Not connected")


def test_system_page_and_processing_controls(signed_in: Page, service: Service) -> None:
    page = signed_in
    page.goto("/#/system")
    expect(page.locator(".system-grid")).to_contain_text("camera:dock")
    expect(page.locator(".system-grid")).to_contain_text("detector:default")
    expect(page.locator(".system-grid")).to_contain_text("ops-webhook")
    expect(page.locator(".system-grid")).to_contain_text("CPU")
    expect(page.locator(".system-grid")).to_contain_text("Camera reachability")
    shot(page, "system.png")

    # An alert open at the stop, so that the stop has one to end (checked below).
    wait_for(lambda: _open_alert(service), 60, what="an open alert before the stop")
    page.locator('button[data-action="stop"]').click()
    page.get_by_role("dialog").get_by_role("button", name="Stop processing").click()
    expect(page.locator(".kpi").first).to_contain_text("Stopped", timeout=30_000)
    with service.client() as client:
        assert client.get("/background/status").json()["alert_processing"]["status"] == "stopped"
    page.locator('button[data-action="start"]').click()
    expect(page.locator(".kpi").first).to_contain_text("Running", timeout=60_000)
    with service.client() as client:
        assert client.get("/background/status").json()["alert_processing"]["status"] == "running"

    # The stop ended every open alert: the timeline says how long each lasted.
    page.goto("/#/alerts")
    expect(page.locator('.alert-row .badge[data-state="ended"]').first).to_contain_text("Lasted")
    expect(page.locator(".alert-row.is-active").first).to_be_visible(timeout=60_000)
    image_loaded(page, ".alert-row img")
    shot(page, "alerts.png")


def _open_alert(service: Service) -> bool:
    with service.client() as client:
        items = client.get("/api/events", params={"limit": 50}).json()["items"]
    return any(item["end_time"] is None for item in items)

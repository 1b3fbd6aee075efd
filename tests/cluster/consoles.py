"""What a node's console shows of the whole site, checked in a real browser.

Each node's cameras page (Chromium) must list every camera with the node that
`/api/nodes/cameras` says runs it, and its system page the nodes with their state, version
and cameras. One browser for all the consoles of a cluster (`test_three_nodes.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from tests.cluster.support import TOKEN, Node
from tests.web.conftest import ConsoleErrors
from tests.web.support import CHROMIUM, CHROMIUM_FLAGS

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WAIT_MS = 15_000  # a page polls every 3-5 s; its first answer is normally there at once


def site_view(node: Node) -> tuple[dict[str, str | None], list[dict[str, Any]]]:
    """What a node's API says of the site: each camera's node, and the nodes."""
    with httpx.Client(base_url=node.url, headers=AUTH, timeout=5) as client:
        cameras = client.get("/api/nodes/cameras").json()
        listed = client.get("/api/nodes").json()
    return {c["camera"]: c["node"] for c in cameras}, listed


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def signed_in(browser: Browser, node: Node) -> BrowserContext:
    """A browser context on the node's console, signed in with the site's token."""
    context = browser.new_context(base_url=node.url, viewport={"width": 1440, "height": 900})
    answer = context.request.post("/api/session", data={"token": TOKEN})
    assert answer.status == 200, answer.text()
    return context


def check_console(browser: Browser, node: Node) -> None:
    """The node's cameras page names every camera's node; its system page lists the nodes."""
    owner, listed = site_view(node)
    context = signed_in(browser, node)
    errors = ConsoleErrors()
    try:
        page = context.new_page()
        page.on("pageerror", errors)

        page.goto("/#/cameras")
        expect(page.get_by_role("columnheader", name="Node")).to_be_visible(timeout=WAIT_MS)
        rows = page.locator("tr[data-camera]")
        expect(rows).to_have_count(len(owner), timeout=WAIT_MS)
        shown = rows.evaluate_all("rows => rows.map((row) => row.dataset.camera)")
        assert sorted(shown) == sorted(owner)
        expected_nodes = [owner[camera] for camera in shown]
        assert None not in expected_nodes, owner
        expect(rows.locator("td.node-cell .node-id")).to_have_text(expected_nodes, timeout=WAIT_MS)
        own = sum(1 for holder in expected_nodes if holder == node.node_id)
        expect(rows.locator("td.node-cell", has_text="This node")).to_have_count(own)

        page.goto("/#/system")
        section = page.get_by_role("region", name="Nodes")
        expect(section.locator(".node-id")).to_have_text(
            sorted(n["id"] for n in listed), timeout=WAIT_MS
        )
        for entry in listed:
            row = section.locator("tbody tr").filter(has_text=entry["id"])
            expect(row).to_contain_text("Live")
            expect(row).to_contain_text(entry["version"])
            expect(row).to_contain_text(entry["url"])
            expect(row).to_contain_text(", ".join(sorted(entry["cameras"])))
        assert not errors.errors, f"uncaught errors on {node.node_id}'s console: {errors.errors}"
    finally:
        context.close()


def site_control_from_console(node: Node, action: str, node_count: int) -> None:
    """Press start, stop or restart on the node's system page (confirming a stop); its toast
    must say every node of the site did it."""
    done = {"start": "started", "stop": "stopped", "restart": "restarted"}[action]
    with chromium() as browser:
        page = signed_in(browser, node).new_page()
        page.goto("/#/system")
        expect(page.get_by_role("region", name="Nodes")).to_be_visible(timeout=WAIT_MS)
        page.locator(f'button[data-action="{action}"]').click()
        if action == "stop":
            page.get_by_role("dialog").get_by_role("button", name="Stop processing").click()
        expect(page.locator(".toast")).to_contain_text(
            f"Alert processing {done} on {node_count} of {node_count} nodes", timeout=90_000
        )


def check_every_console(nodes: list[Node]) -> None:
    """Every node's console, in one Chromium."""
    with chromium() as browser:
        for node in nodes:
            check_console(browser, node)

"""Browser tests: Debian's Chromium driven by Python Playwright against `atalaia run` on
127.0.0.1, with the real detector and the demo camera.

Without /usr/bin/chromium (Debian package `chromium`) or the Playwright package the browser
tests are skipped with that message; with CI=true they fail instead.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import in_ci
from tests.web.support import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    TOKEN,
    FlakyWebhook,
    Service,
    people_webcam,
    run_service,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install the Debian package `chromium`"
    if importlib.util.find_spec("playwright") is None:
        return "the Python package `playwright` is missing (pip install playwright)"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    problem = _missing()
    if problem is None:
        return
    if in_ci():
        pytest.fail(f"{problem}; CI must provide it", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def webhook() -> Iterator[FlakyWebhook]:
    hook = FlakyWebhook(failures=1).start()
    yield hook
    hook.stop()


@pytest.fixture(scope="session")
def service(
    browser_available: None, tmp_path_factory: pytest.TempPathFactory, webhook: FlakyWebhook
) -> Iterator[Service]:
    with run_service(tmp_path_factory.mktemp("web-service"), webhook.url) as running:
        yield running


@pytest.fixture(scope="module")
def browser(browser_available: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Per module: Playwright's sync API keeps an event loop running on the main thread while
    it is open, and every later `asyncio.run` in that process (the sink tests) would fail."""
    from playwright.sync_api import sync_playwright

    webcam = people_webcam(tmp_path_factory.mktemp("webcam") / "people.y4m")
    args = [
        *CHROMIUM_FLAGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={webcam}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield browser
        browser.close()


class ConsoleErrors:
    """Uncaught exceptions in the page: any one fails the test that caused it."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, error: Any) -> None:
        self.errors.append(str(error))


@pytest.fixture
def context(browser: Browser, service: Service) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=service.url, viewport={"width": 1440, "height": 900}, device_scale_factor=1
    )
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A fresh page, not signed in; fails its test on any uncaught page error."""
    errors = ConsoleErrors()
    tab = context.new_page()
    tab.on("pageerror", errors)
    yield tab
    assert not errors.errors, f"uncaught errors in the page: {errors.errors}"


@pytest.fixture
def signed_in(page: Page, service: Service) -> Page:
    """A page whose context holds the session cookie (set by POST /api/session)."""
    response = page.context.request.post("/api/session", data={"token": TOKEN})
    assert response.status == 200, response.text()
    return page

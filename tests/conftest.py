"""Shared test helpers.

Tests run against real local services (PostgreSQL, RabbitMQ, Mosquitto, Redis, NATS). On a
developer's machine a missing one skips the test and says which service it needs; in CI
(CI=true) a missing service fails the test, so a broken CI setup cannot pass by skipping.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.helmet_model import helmet_export, helmet_onnx  # noqa: F401 (fixtures)


def in_ci() -> bool:
    """True when the CI environment variable says so (GitHub, GitLab and others set CI=true)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_service(name: str, host: str, port: int, *, timeout: float = 1.0) -> None:
    """Make sure `name` accepts TCP connections on host:port, or stop the test.

    Stops with a failure in CI and a skip elsewhere; both messages name the service and where
    it was expected.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
    if in_ci():
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(f"{message}; start {name} to run this test")


def _leaked(name: str) -> bool:
    """A ring is leaked when its owner is this test process or is gone; rings of other live
    processes (another test run on the same machine) are theirs to clean."""
    from atalaia.frames.ring import ring_owner

    owner = ring_owner(name)
    if owner is None or owner == os.getpid():
        return True
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@pytest.fixture(scope="session", autouse=True)
def no_shared_memory_left() -> Iterator[None]:
    """After the whole suite, kill -9 cases included, no frame ring is left in /dev/shm."""
    shm = Path("/dev/shm")
    before = {p.name for p in shm.glob("atalaia-*")} if shm.is_dir() else set()
    yield
    if not shm.is_dir():
        return
    deadline = time.monotonic() + 10  # the resource tracker of a killed process needs a moment
    while True:
        left = sorted(n for n in {p.name for p in shm.glob("atalaia-*")} - before if _leaked(n))
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, f"shared-memory segments left after the tests: {left}"


VIEWER_TESTS = Path(__file__).parent / "viewer"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first, and every viewer test marked `alone`.

    `make test` runs the suite on two workers (pytest-xdist), which take tests in collection
    order: the five-minute soak then runs beside the rest from the start instead of at the
    end. The viewer's tests time the UI event loop through every test, so they run afterwards
    with the other `alone` tests, one at a time."""
    for item in items:
        if VIEWER_TESTS in item.path.parents:
            item.add_marker(pytest.mark.alone)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

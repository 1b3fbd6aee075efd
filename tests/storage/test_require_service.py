"""`require_service` (tests/conftest.py) skips locally but fails in CI, naming the service."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import require_service


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_missing_service_skips_outside_ci(
    monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Mosquitto is not reachable"):
        require_service("Mosquitto", "127.0.0.1", closed_port)


def test_missing_service_fails_in_ci(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Mosquitto is not reachable"):
        require_service("Mosquitto", "127.0.0.1", closed_port)


def test_reachable_service_lets_the_test_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        require_service("Echo", "127.0.0.1", server.getsockname()[1])

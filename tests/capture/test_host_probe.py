"""A reader's backoff is cut short when its host answers again (real sockets on loopback)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from atalaia.capture.host_probe import (
    BACKOFF_ELAPSED,
    CLOSED,
    HOST_REACHABLE,
    HostAddress,
    HostWatch,
    host_address,
    host_answers,
)
from tests.fixtures.cameras import free_port


@contextmanager
def listening(port: int) -> Iterator[None]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        yield


def test_only_tcp_network_sources_have_a_host_to_check() -> None:
    assert host_address("rtsp://admin:pw@cam.local/stream") == HostAddress("cam.local", 554)
    assert host_address("rtsp://10.0.0.5:8554/x") == HostAddress("10.0.0.5", 8554)
    assert host_address("http://cam/mjpeg") == HostAddress("cam", 80)
    assert host_address("https://[::1]/live.m3u8") == HostAddress("::1", 443)
    assert HostAddress("::1", 443).label == "[::1]:443"
    for url in ("/data/clip.mp4", "file:///x.mp4", "demo://", "/dev/video0", "udp://1.2.3.4:5"):
        assert host_address(url) is None
    assert host_address("rtsp://host:notaport/x") is None


def test_host_answers_only_while_something_listens() -> None:
    port = free_port()
    address = HostAddress("127.0.0.1", port)
    assert not host_answers(address, 1.0)
    with listening(port):
        assert host_answers(address, 1.0)


def test_a_host_that_comes_back_ends_the_wait_at_once() -> None:
    port = free_port()
    watch = HostWatch(HostAddress("127.0.0.1", port), interval=0.2, timeout=0.5)
    probes: list[bool] = []
    result: list[str] = []
    stop = threading.Event()
    waiter = threading.Thread(target=lambda: result.append(watch.wait(30.0, stop, probes.append)))
    waiter.start()
    time.sleep(0.6)
    with listening(port):
        came_back = time.monotonic()
        waiter.join(10.0)
        assert result == [HOST_REACHABLE]
        assert time.monotonic() - came_back < 5.0
    assert probes[0] is False and probes[-1] is True


def test_a_host_that_never_went_away_does_not_shorten_the_backoff() -> None:
    # Reachable but failing (a wrong path or password): the backoff must still hold.
    port = free_port()
    with listening(port):
        watch = HostWatch(HostAddress("127.0.0.1", port), interval=0.2, timeout=0.5)
        probes: list[bool] = []
        assert watch.wait(1.0, threading.Event(), probes.append) == BACKOFF_ELAPSED
        assert probes and all(probes)


def test_seen_down_carries_over_to_the_next_wait_until_frames_flow() -> None:
    port = free_port()
    watch = HostWatch(HostAddress("127.0.0.1", port), interval=0.2, timeout=0.5)
    assert watch.wait(0.5, threading.Event()) == BACKOFF_ELAPSED  # down all along
    with listening(port):
        # Back between two waits: the next wait's first check answers and ends it.
        assert watch.wait(30.0, threading.Event()) == HOST_REACHABLE
        watch.forget()
        assert watch.wait(0.5, threading.Event()) == BACKOFF_ELAPSED


def test_sources_without_a_host_and_short_waits_just_sleep() -> None:
    stop = threading.Event()
    assert HostWatch(None).wait(0.05, stop) == BACKOFF_ELAPSED
    stop.set()
    assert HostWatch(HostAddress("127.0.0.1", free_port())).wait(30.0, stop) == CLOSED

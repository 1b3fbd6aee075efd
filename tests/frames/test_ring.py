"""FrameRing: pixels in shared memory, sequence checks instead of locks, nothing leaked."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from atalaia.frames import FrameRef, FrameRing, FrameTooLarge, new_run_id, ring_name

SHM = Path("/dev/shm")


@pytest.fixture
def ring() -> Iterator[FrameRing]:
    r = FrameRing.create(ring_name("cam.1", new_run_id()), "cam.1", slots=4, slot_bytes=64 * 48 * 3)
    yield r
    r.close()
    assert not (SHM / r.name).exists()


def frame(value: int, h: int = 48, w: int = 64) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_write_then_read_round_trips(ring: FrameRing) -> None:
    ref = ring.write(frame(7), ts=123.5)
    assert ref == FrameRef("cam.1", ref.slot, 1, 123.5)
    out = ring.read(ref)
    assert out is not None and out.shape == (48, 64, 3) and int(out.max()) == 7
    assert ring.latest() == ref


def test_frames_of_other_sizes_and_grey(ring: FrameRing) -> None:
    small = ring.write(frame(3, h=10, w=20), ts=1.0)
    grey = ring.write(np.full((5, 6), 9, np.uint8), ts=2.0)
    a, b = ring.read(small), ring.read(grey)
    assert a is not None and a.shape == (10, 20, 3)
    assert b is not None and b.shape == (5, 6) and int(b[0, 0]) == 9


def test_lapped_slot_is_detected(ring: FrameRing) -> None:
    first = ring.write(frame(1), ts=1.0)
    for i in range(ring.slots):  # lap the ring once
        ring.write(frame(2 + i), ts=2.0 + i)
    assert ring.view(first) is None and ring.read(first) is None and not ring.valid(first)


def test_view_overwritten_while_in_use_is_invalid(ring: FrameRing) -> None:
    ref = ring.write(frame(1), ts=1.0)
    view = ring.view(ref)
    assert view is not None
    for i in range(ring.slots):
        ring.write(frame(50 + i), ts=2.0)
    assert not ring.valid(ref)  # the reader must discard what it computed from `view`
    del view


def test_oversized_and_bad_frames_are_refused(ring: FrameRing) -> None:
    with pytest.raises(FrameTooLarge):
        ring.write(frame(1, h=480, w=640), ts=0.0)
    with pytest.raises(ValueError):
        ring.write(np.zeros((4, 4, 3), np.float32), ts=0.0)
    assert ring.read(FrameRef("cam.1", 99, 1, 0.0)) is None


def test_write_from_fills_the_slot_in_place(ring: FrameRing) -> None:
    filled: list[np.ndarray] = []

    def fill(slot: np.ndarray) -> None:
        filled.append(slot)
        slot[:] = frame(7)

    ref = ring.write_from((48, 64, 3), fill, ts=2.0)
    view = ring.view(ref)
    assert view is not None and np.shares_memory(view, filled[0])  # no intermediate array
    np.testing.assert_array_equal(ring.read(ref), frame(7))
    with pytest.raises(FrameTooLarge):
        ring.write_from((480, 640, 3), fill, ts=0.0)


def test_a_fill_that_raises_publishes_nothing(ring: FrameRing) -> None:
    good = ring.write(frame(1), ts=1.0)

    def broken(slot: np.ndarray) -> None:
        slot[:] = 9
        raise RuntimeError("the converter failed")

    with pytest.raises(RuntimeError):
        ring.write_from((48, 64, 3), broken, ts=2.0)
    assert ring.latest() == good  # the half-written slot was never published
    after = ring.write(frame(3), ts=3.0)
    assert after.seq == good.seq + 1
    np.testing.assert_array_equal(ring.read(after), frame(3))


def _writer(name: str, count: int, done: mp.synchronize.Event) -> None:
    ring = FrameRing.attach(name, "cam.1")
    for i in range(count):
        ring.write(np.full((48, 64, 3), i % 250, np.uint8), ts=float(i))
    done.set()
    signal.pause()  # stay alive until killed, like a camera process


def test_other_process_writes_and_kill_9_leaks_nothing(ring: FrameRing) -> None:
    ctx = mp.get_context("spawn")
    done = ctx.Event()
    proc = ctx.Process(target=_writer, args=(ring.name, 10, done))
    proc.start()
    assert done.wait(60)
    latest = ring.latest()
    assert latest is not None and latest.seq == 10
    img = ring.read(latest)
    assert img is not None and int(img[0, 0, 0]) == 9
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    # The writer's death changes nothing: the segment belongs to the supervisor's ring.
    assert (SHM / ring.name).exists()
    assert ring.read(latest) is not None
    # A restarted writer continues the sequence in the same ring.
    done2 = ctx.Event()
    proc2 = ctx.Process(target=_writer, args=(ring.name, 3, done2))
    proc2.start()
    assert done2.wait(60)
    latest2 = ring.latest()
    assert latest2 is not None and latest2.seq == 13
    os.kill(proc2.pid, signal.SIGKILL)
    proc2.join(10)

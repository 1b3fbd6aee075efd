"""The per-frame path never pays for a collection: start-up heap frozen, collection at idle."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from atalaia.supervisor import child


@pytest.fixture
def restore_gc() -> Iterator[None]:
    yield
    gc.enable()
    gc.unfreeze()


def test_tune_gc_freezes_start_up_heap_and_disables_automatic_collection(restore_gc: None) -> None:
    child.tune_gc()
    assert not gc.isenabled()
    assert gc.get_freeze_count() > 1000


def test_idle_collect_runs_only_when_due(restore_gc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, ...]] = []
    monkeypatch.setattr(child.gc, "collect", lambda *a: calls.append(a) or 0)
    monkeypatch.setattr(child, "_last_full", [0.0])
    clock = [100.0]
    monkeypatch.setattr(child.time, "monotonic", lambda: clock[0])
    last = child.idle_collect(99.5, every=1.0)
    assert last == 99.5 and calls == []  # not due yet
    clock[0] = 100.6
    last = child.idle_collect(last, every=1.0, full_every=60)
    assert calls == [()]  # first time: a full collection
    clock[0] = 101.7
    child.idle_collect(last, every=1.0, full_every=60)
    assert calls == [(), (1,)]  # then young generations only

"""Helpers shared by the supervisor's tests: polling, specs, the processes a test started."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil

from atalaia.supervisor import ChildSpec, Kind
from tests.supervisor import workers


def wait_for(cond: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def spec(
    name: str, target: Callable[..., None], kind: Kind = Kind.CAMERA, stop_file: str | None = None
) -> ChildSpec:
    payload = workers.Payload(stop_file=stop_file)
    return ChildSpec(name=name, kind=kind, tag=name.upper(), target=target, payload=payload)


def spawned_children() -> set[int]:
    """Pids of this process's live `spawn` children (supervised processes; not the
    multiprocessing resource tracker, not zombies already dead)."""
    pids = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if any("spawn_main" in part for part in proc.cmdline()):
                pids.add(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return pids

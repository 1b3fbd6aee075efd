"""Module-level targets for supervised test processes (spawn needs importable functions)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from atalaia.supervisor import ChildContext

log = logging.getLogger("tests.worker")


@dataclass(frozen=True, slots=True)
class Payload:
    """What a test child starts with (the pipeline's workers get their own typed specs)."""

    stop_file: str | None = None


def payload(ctx: ChildContext) -> Payload:
    assert isinstance(ctx.payload, Payload), ctx.payload
    return ctx.payload


def steady(ctx: ChildContext) -> None:
    """Makes progress until asked to stop; records when it stopped."""
    beats = 0
    ctx.stats_from(lambda: {"beats": beats})
    log.info("worker %s up with secret rtsp://admin:hunter2@cam/s", ctx.name)
    while not ctx.stopping:
        beats += 1
        ctx.progress()
        time.sleep(0.05)
    out = payload(ctx).stop_file
    if out:
        Path(out).write_text(f"{time.time()}")


def counts_with_pid(ctx: ChildContext) -> None:
    """Counts progress and says which process counted, so stats can be told apart."""
    pid, beats = os.getpid(), 0
    ctx.stats_from(lambda: {"pid": pid, "beats": beats})
    while not ctx.stopping:
        beats += 1
        ctx.progress()
        time.sleep(0.01)


def hangs(ctx: ChildContext) -> None:
    """Heartbeat thread alive, loop stuck: must be seen as hung."""
    ctx.progress()
    while True:
        time.sleep(1)


def crashes(ctx: ChildContext) -> None:
    time.sleep(0.1)
    raise RuntimeError("boom from " + ctx.name)


def stubborn(ctx: ChildContext) -> None:
    """Makes progress but ignores stop requests and SIGTERM: only SIGKILL ends it."""
    ctx.stats_from(lambda: {"pid": os.getpid()})
    while True:
        ctx.progress()
        time.sleep(0.05)


def loads_slowly(ctx: ChildContext) -> None:
    """Loads for 3 s (longer than the tests' heartbeat timeout) before its loop starts, as a
    detector opening its models does."""
    time.sleep(3.0)
    steady(ctx)


def never_starts(ctx: ChildContext) -> None:
    """Heartbeat thread alive, never reaches its loop."""
    while True:
        time.sleep(1)

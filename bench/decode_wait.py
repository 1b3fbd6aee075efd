"""What decoding a frame costs when frames come one at a time, as a camera sends them.

`bench.limit` charges the pipeline with the decode cost measured in a tight loop (frames back
to back, pinned to one core): the cheapest decoding can be. A camera's capture thread instead
decodes one frame, waits for the next (33 ms at 30 fps) while other threads run, and decodes
again with its caches cold. This measures CPU per decoded frame (the pipeline's reader,
`open_source(...).grab()`, in this process pinned to one core) with something between frames:

- `back to back`: nothing (what the limit charges);
- `spin N ms`: the thread keeps the core, busy-waiting (no sleep, little memory touched);
- `sleep N ms`: the thread sleeps (the core idles or runs something else);
- `64 MB written`: the thread itself writes 64 MB between frames (its caches are evicted,
  as another thread's work on the same core would evict them), no sleep.

    .venv/bin/python -m bench.decode_wait --video vtest_30fps.avi
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench.limit import machine
from bench.replay import add_replay_argument, retimed

from atalaia.capture.errors import EndOfStream
from atalaia.capture.factory import open_source
from atalaia.config.cameras import SourceConfig


def spin(seconds: float) -> Callable[[], None]:
    def wait() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    return wait


def sleep(seconds: float) -> Callable[[], None]:
    return lambda: time.sleep(seconds)


def evict(megabytes: int) -> Callable[[], None]:
    block = np.ones(megabytes * 1024 * 1024, np.uint8)

    def wait() -> None:
        block.fill(block[0] ^ 1)

    return wait


def grab_cost(video: Path, between: Callable[[], None] | None, seconds: float) -> tuple[float, int]:
    """CPU ms per `grab()` (demux and decode) and the frames decoded, over `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(SourceConfig(url=str(video), loop=True, realtime=False), Path(tmp))
        try:
            for _ in range(10):  # opening, first frames
                source.grab()
            spent, frames = 0.0, 0
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                t0 = time.process_time()
                try:
                    source.grab()
                except EndOfStream:
                    break
                spent += time.process_time() - t0
                frames += 1
                if between is not None:
                    between()
        finally:
            source.close()
    return 1000 * spent / max(frames, 1), frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=6.0, help="per row")
    add_replay_argument(parser)
    args = parser.parse_args()
    video = args.video
    print(machine())
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[-1]})
    with tempfile.TemporaryDirectory() as tmp:
        if args.replay_fps:
            video = retimed(video, args.replay_fps, Path(tmp))
        rows: list[tuple[str, Callable[[], None] | None]] = [
            ("back to back", None),
            ("spin 4 ms", spin(0.004)),
            ("sleep 4 ms", sleep(0.004)),
            ("sleep 33 ms (a 30 fps camera)", sleep(0.033)),
            ("64 MB written", evict(64)),
        ]
        print(f"video {video.name}, one core; CPU per grab (demux + decode)")
        print("| between frames | ms per frame | x back to back | frames |")
        print("|---|---|---|---|")
        first = 0.0
        for label, between in rows:
            ms, frames = grab_cost(video, between, args.seconds)
            first = first or ms
            print(f"| {label} | {ms:.3f} | {ms / first:.2f} | {frames} |")


if __name__ == "__main__":
    main()

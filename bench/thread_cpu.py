"""CPU time per thread of the running pipeline, from the kernel's own accounting.

`bench.cpu_profile --tool py-spy --gil` charges a thread with every sample in which it holds
the GIL, and a thread that wakes another (`Condition.notify`) is often descheduled while it
still holds it: its samples pile up on the wake-up though the CPU went elsewhere. Here each
thread's user and system time is read from `/proc/PID/task/TID/stat` at the start and end of
the measured window, so the figures are CPU actually used. Python thread names are not the
kernel's, so they are taken from `py-spy dump` once at the start; a camera's threads are
named without their camera (`capture-cam3` -> `capture`) and summed over the cameras.

    .venv/bin/python -m bench.thread_cpu --mode saturation --cameras 8 --input-size 320 \\
        --video vtest.avi --replay-fps 30 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bench.limit import machine
from bench.pipeline import add_run_arguments, make_video, run_atalaia
from bench.replay import retimed

from atalaia.pipeline.runner import Pipeline

_TICK = os.sysconf("SC_CLK_TCK")
_THREAD_LINE = re.compile(r'Thread (\d+) \(\w+\): "([^"]+)"')


def thread_times(pid: int, tid: str) -> tuple[float, float] | None:
    """(user, system) CPU seconds of one thread; None once it has gone."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def thread_names(py_spy: str, pid: int) -> dict[str, str]:
    """Kernel thread id -> Python thread name, from one `py-spy dump`."""
    dump = subprocess.run(
        [py_spy, "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True
    ).stdout
    return {m.group(1): m.group(2) for m in map(_THREAD_LINE.match, dump.splitlines()) if m}


def measure(
    args: argparse.Namespace, video: Path
) -> tuple[dict[str, object], dict[tuple[str, str], tuple[float, float]], float]:
    """Run the pipeline; (its result, (kind, thread) -> (user %, system %), window s)."""
    usage: dict[tuple[str, str], tuple[float, float]] = {}
    window = [0.0]

    def probe(pipeline: Pipeline, seconds: float) -> Callable[[], None]:
        kinds = {s["pid"]: s["kind"] for s in pipeline.supervisor.status().values() if s["pid"]}
        kinds[os.getpid()] = "harness"
        names = {pid: thread_names(args.py_spy, pid) for pid in kinds}
        start = {
            (pid, tid): t
            for pid in kinds
            for tid in os.listdir(f"/proc/{pid}/task")
            if (t := thread_times(pid, tid)) is not None
        }
        began = time.monotonic()

        def finish() -> None:
            window[0] = time.monotonic() - began
            sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
            for (pid, tid), (user0, sys0) in start.items():
                now = thread_times(pid, tid)
                if now is None:
                    continue
                name = re.sub(r"-cam\w*$", "", names[pid].get(tid, "unnamed"))
                cell = sums[(kinds[pid], name)]
                cell[0] += now[0] - user0
                cell[1] += now[1] - sys0
            for key, (user, system) in sums.items():
                usage[key] = (100 * user / window[0], 100 * system / window[0])

        return finish

    detect_fps = args.detect_fps if args.mode == "nominal" else 30.0
    result = run_atalaia(args, args.mode, video, args.cameras, detect_fps, args.seconds, probe)
    return result, usage, window[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["nominal", "saturation"], default="saturation")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--video", type=Path, default=None)
    parser.add_argument("--input-size", type=int, default=320)
    add_run_arguments(parser)
    parser.add_argument("--py-spy", default=shutil.which("py-spy")
                        or str(Path(sys.executable).parent / "py-spy"))  # fmt: skip
    args = parser.parse_args(argv)
    if not Path(args.py_spy).exists():
        print("py-spy is missing (it names the threads): .venv/bin/pip install py-spy",
              file=sys.stderr)  # fmt: skip
        return 2
    out = Path(tempfile.mkdtemp(prefix="atalaia-threads-"))
    video = args.video or make_video(out)
    if args.replay_fps:
        video = retimed(video, args.replay_fps, out)
    result, usage, window = measure(args, video)
    print(machine())
    print(
        f"{args.mode}: {args.cameras} cameras, {video.name}, input {args.input_size}: "
        f"{result['detections_per_s']} detections/s, processes' CPU {result['cpu_percent']} % "
        f"of one core; threads over {window:.1f} s"
    )
    print("| process kind | thread | user % | system % |")
    print("|---|---|---|---|")
    for (kind, name), (user, system) in sorted(usage.items(), key=lambda kv: -sum(kv[1])):
        if user + system >= 0.05:
            print(f"| {kind} | {name} | {user:.1f} | {system:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

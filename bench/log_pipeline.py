"""What one log call costs on the hot path: our queue handler against a plain FileHandler.

Three scenarios, each in a freshly spawned process (as a camera process is), calling
`logger.info("camera %s frame %d took %.1f ms", ...)` in a tight loop:

  queue     NonBlockingQueueHandler with room in the queue; a LogWriter in this process
            formats, masks and writes to a file, as in the service.
  file      logging.FileHandler with the same text layout: format, write and flush on the
            caller's thread.
  drop      NonBlockingQueueHandler on a full queue that nobody reads: the drop path.
  null      logging.NullHandler: what the logging module itself costs (building the record),
            the floor under any handler.

Reported per scenario: per-call latency p50/p99/max (perf_counter_ns around each call),
calls/s, CPU per call (the process's user+sys time, background queue feeder thread included,
until everything it queued has left the process), peak RSS of the process and how much the
loop raised it. For `queue`, also the writer's CPU per record in this process.

Run from the repository root:  .venv/bin/python -m bench.log_pipeline [--records N] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from array import array
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from atalaia.logs import LogEntry, LogQueue, LogWriter, NonBlockingQueueHandler

SCENARIOS = ("queue", "file", "drop", "null")
WARMUP_CALLS = 500
TEXT_LAYOUT = "[%(asctime)s.%(msecs)03d] [cam1] [%(levelname)s] %(message)s"


def _hot_path_handler(scenario: str, queue: Any, path: Path) -> logging.Handler:
    if scenario == "null":
        return logging.NullHandler()
    if scenario == "file":
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter(TEXT_LAYOUT, datefmt="%Y-%m-%d %H:%M:%S"))
        return handler
    return NonBlockingQueueHandler(queue, "cam1", drop_counter=queue.drop_counter)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(scenario: str, queue: Any, path: Path, records: int, conn: Connection) -> None:
    """Child process: time `records` log calls and send the figures back."""
    handler = _hot_path_handler(scenario, queue, path)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    log = logging.getLogger("bench.hotpath")
    for i in range(WARMUP_CALLS):  # starts the feeder thread, opens the file, warms caches
        log.info("camera %s frame %d took %.1f ms", "cam1", -i, 12.5)
    peak_rss_start = _peak_rss_mib()

    samples = array("q", bytes(8 * records))
    clock = time.perf_counter_ns
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    for i in range(records):
        before = clock()
        log.info("camera %s frame %d took %.1f ms", "cam1", i, 12.5)
        samples[i] = clock() - before
    wall = time.perf_counter() - wall_start
    if queue is None:
        handler.close()
    else:
        queue.close()
        queue.join_thread()  # everything queued has been pickled and sent
    cpu = time.process_time() - cpu_start

    ordered = sorted(samples)
    conn.send(
        {
            "scenario": scenario,
            "records": records,
            "p50_us": ordered[len(ordered) // 2] / 1000,
            "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000,
            "max_us": ordered[-1] / 1000,
            "mean_us": statistics.fmean(ordered) / 1000,
            "calls_per_s": records / wall,
            "cpu_us_per_call": cpu / records * 1e6,
            "peak_rss_mib": _peak_rss_mib(),
            "peak_rss_growth_mib": _peak_rss_mib() - peak_rss_start,
            "dropped": getattr(handler, "dropped_total", 0),
        }
    )
    conn.close()


def run_scenario(scenario: str, records: int, folder: Path) -> dict[str, Any]:
    """Spawn one measuring process for `scenario`, with the writer side (if any) here."""
    spawn = multiprocessing.get_context("spawn")
    path = folder / f"{scenario}.log"
    writer: LogWriter | None = None
    queue: LogQueue | None = None
    if scenario == "queue":
        # Room for every record: this scenario measures the path where the put succeeds.
        writer = LogWriter(
            level="INFO", fmt="text", file=path, console=False, queue_size=records + WARMUP_CALLS
        )
        queue = writer.queue
    elif scenario == "drop":
        queue = LogQueue(1)
        queue.put(LogEntry(time.time(), "bench", logging.INFO, "INFO", "bench", "fill", None, 0))
    receive, send = spawn.Pipe(duplex=False)
    child = spawn.Process(target=measure, args=(scenario, queue, path, records, send))
    cpu_start = time.process_time()
    child.start()
    result: dict[str, Any] = receive.recv()
    child.join()
    if writer is not None:
        writer.stop(timeout=60)
        result["writer_cpu_us_per_record"] = (
            (time.process_time() - cpu_start) / (records + WARMUP_CALLS) * 1e6
        )
        result["written"] = sum(1 for _ in path.open(encoding="utf-8")) - WARMUP_CALLS
    if queue is not None:
        queue.cancel_join_thread()
        result["dropped_total_seen_by_writer"] = queue.drop_counter.value
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        "| scenario | p50 µs | p99 µs | max µs | calls/s | CPU µs/call "
        "| peak RSS MiB | peak growth MiB | dropped |"
    )
    print(header)
    print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|")
    for r in results:
        print(
            f"| {r['scenario']} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | {r['max_us']:.0f} "
            f"| {r['calls_per_s']:,.0f} | {r['cpu_us_per_call']:.1f} "
            f"| {r['peak_rss_mib']:.1f} | {r['peak_rss_growth_mib']:.1f} | {r['dropped']:,} |"
        )
    for r in results:
        if "writer_cpu_us_per_record" in r:
            print(
                f"\nwriter (main process) CPU: {r['writer_cpu_us_per_record']:.1f} µs/record, "
                f"{r['written']:,} of {r['records']:,} records written"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000, help="log calls per scenario")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the log files go (default: a temp dir)"
    )
    parser.add_argument(
        "--scenario", choices=SCENARIOS, action="append", help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.records < 100:
        parser.error("--records must be at least 100")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results = [
            run_scenario(scenario, args.records, Path(tmp))
            for scenario in (args.scenario or SCENARIOS)
        ]
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "results": results}, indent=2))
    else:
        print(f"{args.records:,} calls per scenario, Python {sys.version.split()[0]}\n")
        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

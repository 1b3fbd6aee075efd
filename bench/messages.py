"""What a camera <-> detector message costs on the wire: positional tuples against typed ones.

Every detected frame costs two messages (`Detect` to the detector, `Result` or `Dropped`
back), pickled by `multiprocessing.connection.Connection`. Three forms of the same messages:

  tuple      the positional tuples used before (`("result", seq, ts, wire, infer_ms, batch)`)
  dataclass  frozen slotted dataclasses with Python's default pickling (a Python-level
             `__getstate__`/`__setstate__` per message)
  atalaia    `atalaia.pipeline.detector_messages` as shipped: the same dataclasses, pickled as
             their constructor and a tuple of their fields

Reported per message and form: pickled bytes; `dumps` and `loads` time (µs); `send+recv`,
one message sent and received over a multiprocessing `Pipe` in one thread (the detector's
connections are the same `Connection` class over the same kind of AF_UNIX stream socket);
and `round trip`, the p50 of a message sent to a spawned process that sends it straight back
(pickled and unpickled twice, two context switches). Timings are the best of `--rounds`
repeats, so outside load shows as noise only when it hits every round.

    .venv/bin/python -m bench.messages              # about 30 s
    .venv/bin/python -m bench.messages --count 20000 --rounds 3 --json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pickle
import platform
import statistics
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from bench.host import cpu_model

from atalaia.detect import Detections
from atalaia.detect.protocol import DetectorInfo
from atalaia.pipeline import detector_messages as shipped

# ---- the default-pickled dataclasses (the same fields as the shipped ones) --------------------


@dataclass(frozen=True, slots=True)
class Hello:
    camera: str
    ring: str
    max_age_s: float


@dataclass(frozen=True, slots=True)
class Detect:
    slot: int
    seq: int
    ts: float


@dataclass(frozen=True, slots=True)
class Welcome:
    class_names: tuple[str, ...]
    info: DetectorInfo


@dataclass(frozen=True, slots=True)
class Result:
    seq: int
    ts: float
    wire: bytes
    infer_ms: float
    batch: int


@dataclass(frozen=True, slots=True)
class Dropped:
    seq: int
    cause: str


# ---- the messages ---------------------------------------------------------------------------


def sample_wire(detections: int) -> bytes:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1000, size=(detections, 2)).astype(np.float32)
    boxes = np.hstack([xy, xy + 50]).astype(np.float32)
    return Detections(
        boxes,
        rng.uniform(0.3, 1, detections).astype(np.float32),
        np.zeros(detections, dtype=np.int32),
        ("person",),
    ).to_wire()


def messages(detections: int) -> dict[str, dict[str, object]]:
    """Per message kind, the same message in each form."""
    names = tuple(f"class{i}" for i in range(80))
    info = DetectorInfo(
        "onnx", "yolo11n.onnx", "onnx", 640, 640, 80, ("CPU",), None, 2, 1, True, False
    )
    wire = sample_wire(detections)
    ts = time.time()
    return {
        "Detect": {
            "tuple": ("detect", 3, 123456, ts),
            "dataclass": Detect(3, 123456, ts),
            "atalaia": shipped.Detect(3, 123456, ts),
        },
        f"Result ({detections} detections)": {
            "tuple": ("result", 123456, ts, wire, 12.5, 4),
            "dataclass": Result(123456, ts, wire, 12.5, 4),
            "atalaia": shipped.Result(123456, ts, wire, 12.5, 4),
        },
        "Dropped": {
            "tuple": ("dropped", 123456, "stale"),
            "dataclass": Dropped(123456, "stale"),
            "atalaia": shipped.Dropped(123456, "stale"),
        },
        "Hello (once a connection)": {
            "tuple": ("hello", "camera-1", "atalaia-ring-camera-1", 0.5),
            "dataclass": Hello("camera-1", "atalaia-ring-camera-1", 0.5),
            "atalaia": shipped.Hello("camera-1", "atalaia-ring-camera-1", 0.5),
        },
        "Welcome (once a connection)": {
            "tuple": ("welcome", list(names), info.to_dict()),
            "dataclass": Welcome(names, info),
            "atalaia": shipped.Welcome(names, info),
        },
    }


# ---- measuring ------------------------------------------------------------------------------


def per_call_us(fn: Callable[[], object], count: int) -> float:
    return timeit.timeit(fn, number=count) / count * 1e6


def echo(conn: Connection) -> None:
    """The far end: send back whatever arrives until None."""
    while True:
        message = conn.recv()
        conn.send(message)
        if message is None:
            return


def round_trip_us(conn: Connection, message: object, count: int) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.send(message)
        conn.recv()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def measure_cell(
    message: object, near: Connection, local: tuple[Connection, Connection], count: int
) -> dict[str, float]:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sender, receiver = local

    def send_recv() -> None:
        sender.send(message)
        receiver.recv()

    return {
        "dumps_us": per_call_us(lambda: pickle.dumps(message, pickle.HIGHEST_PROTOCOL), count),
        "loads_us": per_call_us(lambda: pickle.loads(data), count),
        "send_recv_us": per_call_us(send_recv, count),
        "round_trip_us": round_trip_us(near, message, max(1, count // 5)),
    }


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every cell once per round, rounds one after another (a burst of outside load hits one
    round of every cell rather than every round of one); the best round of each is kept."""
    near, far = multiprocessing.Pipe()
    local = multiprocessing.Pipe()
    peer = multiprocessing.get_context("spawn").Process(target=echo, args=(far,), daemon=True)
    peer.start()
    cells = [
        (kind, form, message)
        for kind, forms in messages(args.detections).items()
        for form, message in forms.items()
    ]
    best: dict[tuple[str, str], dict[str, float]] = {}
    try:
        for kind, form, message in cells:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            assert pickle.loads(data) == message, (kind, form)
        for _ in range(args.rounds):
            for kind, form, message in cells:
                found = measure_cell(message, near, local, args.count)
                kept = best.setdefault((kind, form), found)
                for key, value in found.items():
                    kept[key] = min(kept[key], value)
    finally:
        near.send(None)
        near.recv()
        peer.join(5)
    return [
        {
            "message": kind,
            "form": form,
            "bytes": len(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)),
            **{key: round(value, 2) for key, value in best[kind, form].items()},
        }
        for kind, form, message in cells
    ]


# ---- output ---------------------------------------------------------------------------------


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"CPU {cpu_model()}, {os.cpu_count()} cores, load average {load}; "
        f"Python {platform.python_version()}"
    )


def table(results: list[dict[str, Any]]) -> str:
    columns = ["message", "form", "bytes", "dumps µs", "loads µs", "send+recv µs"]
    columns += ["round trip µs", "send+recv vs tuple"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    base = {r["message"]: r["send_recv_us"] for r in results if r["form"] == "tuple"}
    for r in results:
        extra = r["send_recv_us"] - base[r["message"]]
        lines.append(
            f"| {r['message']} | {r['form']} | {r['bytes']} | {r['dumps_us']:.2f} "
            f"| {r['loads_us']:.2f} | {r['send_recv_us']:.2f} | {r['round_trip_us']:.1f} "
            f"| {extra:+.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20_000, help="messages per timing")
    parser.add_argument("--rounds", type=int, default=5, help="repeats; the best is kept")
    parser.add_argument("--detections", type=int, default=10, help="detections in a Result")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    print(machine(), flush=True)
    results = measure(args)
    print(json.dumps(results, indent=1) if args.json else table(results), flush=True)
    print(machine(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Does batching pay inside a single-threaded model call? The detector's lanes, measured.

The detector process runs one single-threaded model call per core side by side ("lanes",
`atalaia.pipeline.detector_lanes`) and gives each call one frame. This measures why: the
built-in YOLO11n in plain ONNX Runtime sessions (one thread each, no spinning, as the
detector opens them), one per usable core, all running at once, at each batch size; images/s
for the whole machine. Pre- and post-processing are not timed. Rounds alternate the batch
sizes, so a slow moment of the machine hits every size.

    .venv/bin/python -m bench.lane_batch --input-size 320 --batches 1 2 4 --rounds 2
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import onnxruntime as ort
from bench.limit import machine

from atalaia.detect import default_object_model
from atalaia.detect.runtime import usable_cores


def single_threaded_session(path: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def images_per_second(
    session: ort.InferenceSession, lanes: int, batch: int, size: int, seconds: float
) -> float:
    name = session.get_inputs()[0].name
    tensor = np.random.default_rng(0).random((batch, 3, size, size), dtype=np.float32)
    session.run(None, {name: tensor})  # warm this shape up
    done = [0] * lanes
    stop = time.perf_counter() + seconds

    def lane(index: int) -> None:
        while time.perf_counter() < stop:
            session.run(None, {name: tensor})
            done[index] += batch

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-size", type=int, default=320)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="per batch size and round")
    args = parser.parse_args()
    lanes = usable_cores()
    session = single_threaded_session(str(default_object_model().model))
    print(f"{machine()}\nYOLO11n at {args.input_size}, {lanes} single-threaded calls at once")
    print("| frames per call | images/s, each round |\n|---|---|")
    rates: dict[int, list[float]] = {batch: [] for batch in args.batches}
    for _ in range(args.rounds):
        for batch in args.batches:
            rates[batch].append(
                images_per_second(session, lanes, batch, args.input_size, args.seconds)
            )
    for batch, measured in rates.items():
        print(f"| {batch} | {', '.join(f'{r:.1f}' for r in measured)} |")


if __name__ == "__main__":
    main()

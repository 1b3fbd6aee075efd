#!/usr/bin/env bash
# GPU benchmark of atalaia, in one run of a few minutes (docs/gpu.md, "Benchmark").
#
# On a machine with an NVIDIA GPU it:
#   1. makes a fresh virtual environment (with the system's site packages, so CUDA/cuDNN
#      libraries that pip's nvidia-* packages put there are reused) and installs atalaia's
#      dependencies with the `gpu` extra, the way docs/gpu.md says (both onnxruntime builds at
#      one version, then onnxruntime-gpu reinstalled over the CPU one);
#   2. measures the built-in YOLO11n at 640 alone (no pre/post-processing): batched images/s
#      on CUDA, input copied with I/O binding as the detector does, float32 and (when
#      onnxconverter-common is there) float16; TensorRT float16 when its libraries load;
#   3. measures atalaia's session alone with float32 and uint8 input (`input_upload`), and its
#      detector (letterbox + model + decode) at batch 32 with 1 and 2 concurrent runs
#      (pre-processing of one share overlapping the GPU run of another), float32 and uint8
#      input, and on changing batch sizes with `call_batches` auto and off;
#   4. runs `bench.pipeline --mode saturation` with 16 and 32 cameras from a file on CUDA;
#   5. prints one markdown table (with the GPU's name from nvidia-smi) and writes it, with the
#      raw JSON, to $OUT (or /tmp/atalaia-gpu-bench).
#
# Usage, from the repository root:
#   bash scripts/gpu-bench.sh                 # GPU machine with a package index
#   WHEELS=DIR bash scripts/gpu-bench.sh      # GPU machine offline: every wheel in DIR (what
#                                             # its python3 lacks, onnxruntime-gpu) --no-deps
#                                             # into $SITE, first on PYTHONPATH
#   bash scripts/gpu-bench.sh --wheels DIR    # here: download those wheels (Python 3.12);
#                                             # HAVE=FILE (the GPU machine's pip freeze):
#                                             # leave out what it already holds
#   bash scripts/gpu-bench.sh --cpu-check     # any machine: the same steps on the CPU provider
#                                             # with ./.venv, small sizes, no install
# Settings (environment): ORT_VERSION (1.31.1: CUDA 13, cuDNN 9), PYTHON (python3), VENV,
# CAMERAS ("16 32 64"; an item N:key=value,key=value runs N cameras with those detector
# settings, e.g. 32:prep_threads=1; the plain loop runs only for the last plain N),
# VIDEO (a clip; default the generated 640x480 one), BATCHES ("1 8 32"), BENCH_SECONDS (4),
# PIPELINE_SECONDS (20), SITE (/tmp/atalaia-gpu-site), TRT_TIMEOUT (180 s for TensorRT's
# engine build and runs), STEPS ("model tensorrt session detector shapes pipeline").
# Never record a figure this script did not print on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=${ORT_VERSION:-1.31.1}
RESULTS=${OUT:-/tmp/atalaia-gpu-bench}
MODE=gpu
case "${1:-}" in
--cpu-check) MODE=cpu ;;
--wheels)
    MODE=wheels
    WHEEL_DIR=${2:?--wheels needs a folder}
    ;;
"") ;;
*)
    echo "usage: $0 [--cpu-check | --wheels DIR]" >&2
    exit 2
    ;;
esac

requirements() { # atalaia's dependencies and the gpu extra, pinned to one onnxruntime version
    "$1" - "$ORT_VERSION" <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for line in project["dependencies"] + project["optional-dependencies"]["gpu"]:
    name = line.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()
    if name not in ("onnxruntime", "onnxruntime-gpu"):
        print(line)
print(f"onnxruntime=={sys.argv[1]}")
print(f"onnxruntime-gpu=={sys.argv[1]}")
PY
}

if [ "$MODE" = wheels ]; then
    mkdir -p "$WHEEL_DIR"
    requirements python3 >"$WHEEL_DIR/requirements.txt"
    echo "onnxconverter-common" >>"$WHEEL_DIR/requirements.txt" # the float16 rows
    python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 --platform any \
        -d "$WHEEL_DIR" -r "$WHEEL_DIR/requirements.txt"
    if [ -n "${HAVE:-}" ]; then
        # HAVE: the GPU machine's `python3 -m pip list --format=freeze`. Its packages are not
        # carried (a CUDA image holds numpy, OpenCV, the CPU onnxruntime...); with WHEELS what
        # is left is installed --no-deps, so the machine's versions must suit atalaia's pins.
        python3 - "$WHEEL_DIR" "$HAVE" <<'PY'
import pathlib, re, sys
folder, have = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
present = {norm(line.split("==")[0]) for line in have.read_text().splitlines() if "==" in line}
present.discard("onnxruntime-gpu")
for wheel in sorted(folder.glob("*.whl")):
    if norm(wheel.name.split("-")[0]) in present:
        wheel.unlink()
        print("already there:", wheel.name)
PY
    fi
    du -sh "$WHEEL_DIR"
    exit 0
fi

mkdir -p "$RESULTS"
if [ "$MODE" = gpu ]; then
    GPU=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
    PY=${PYTHON:-python3}
    PIP=(-m pip install -q --no-input --disable-pip-version-check)
    if [ -n "${WHEELS:-}" ]; then
        # Offline: the wheels (atalaia's dependencies missing here, onnxruntime-gpu) go into a
        # folder put first on PYTHONPATH, not into a venv. The machine's python3 may itself be a
        # venv (a CUDA image's PyTorch one): `venv --system-site-packages` would then see the base
        # interpreter's packages, not its numpy and OpenCV. First on the path, the GPU build's
        # `onnxruntime` module wins over a CPU build installed there.
        SITE=${SITE:-/tmp/atalaia-gpu-site}
        echo "== $(date -u +%FT%TZ) GPU: $GPU; wheels from $WHEELS into $SITE"
        rm -rf "$SITE"
        "$PY" "${PIP[@]}" --no-index --no-deps --target "$SITE" "$WHEELS"/*.whl
        export PYTHONPATH="$SITE"
        BENCH_PY=$PY
    else
        VENV=${VENV:-/tmp/atalaia-gpu-venv}
        echo "== $(date -u +%FT%TZ) GPU: $GPU; fresh venv $VENV"
        rm -rf "$VENV"
        "$PY" -m venv --system-site-packages "$VENV"
        requirements "$VENV/bin/python" >"$RESULTS/requirements.txt"
        "$VENV/bin/python" "${PIP[@]}" -r "$RESULTS/requirements.txt"
        # Both wheels ship the onnxruntime module; put the GPU build's files on top (docs/gpu.md).
        "$VENV/bin/python" "${PIP[@]}" --force-reinstall --no-deps "onnxruntime-gpu==$ORT_VERSION"
        BENCH_PY="$VENV/bin/python"
    fi
    # CUDA/cuDNN from pip's nvidia-* packages (in the system site packages here): ORT's own
    # preload looks only beside its package, so put their lib folders on the loader's path.
    NV_LIBS=$("$BENCH_PY" - <<'PY'
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
found = sorted({os.path.dirname(p) for root in nvidia.__path__
                for p in glob.glob(os.path.join(root, "**", "lib*.so*"), recursive=True)})
print(":".join(found))
PY
)
    export LD_LIBRARY_PATH="${NV_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    PROVIDER=cuda SIZE=640 BATCHES=${BATCHES:-"1 8 32"} CAMERAS=${CAMERAS:-"16 32 64"}
    BENCH_SECONDS=${BENCH_SECONDS:-4} PIPELINE_SECONDS=${PIPELINE_SECONDS:-20}
else
    GPU="none (--cpu-check: CPU provider, flow check only, not a GPU figure)"
    BENCH_PY=.venv/bin/python
    PROVIDER=cpu SIZE=320 BATCHES=${BATCHES:-"1 4"} CAMERAS=${CAMERAS:-"2 2:prep_threads=2"}
    BENCH_SECONDS=${BENCH_SECONDS:-1} PIPELINE_SECONDS=${PIPELINE_SECONDS:-5}
fi
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$BENCH_PY" -c 'import onnxruntime as o; print("== onnxruntime", o.__version__, o.get_available_providers())'

# ---- 2 and 3: the model alone, then the detector --------------------------------------------
MODEL_PY=$(mktemp --suffix=.py)
trap 'rm -f "$MODEL_PY"' EXIT
cat >"$MODEL_PY" <<'PY'
"""One measurement per line of JSON: the model alone, or the detector, on one provider."""
import functools, json, sys, time, warnings
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from atalaia.config.detectors import OnnxDetectorConfig
from atalaia.detect import build_detector, default_object_model, sample_image
from atalaia.detect.letterbox import ULTRALYTICS_PIXELS, letterbox_into
from atalaia.detect.session import OnnxModel

what, provider, size, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ORT = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
       "tensorrt": "TensorrtExecutionProvider"}
photo = cv2.imread(str(sample_image()))
frames = [cv2.resize(photo, (w, h)) for w, h in ((640, 480), (700, 466), (1280, 720), (352, 288))]


def timed(call, batch: int) -> float:
    for _ in range(3):
        call()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        done += batch
    return done / (time.perf_counter() - start)


@functools.cache
def fp16_model() -> Path | None:
    try:
        import onnx
        from onnxconverter_common import float16
    except ImportError:
        return None
    model = onnx.load(str(default_object_model().model))
    del model.graph.value_info[:]  # see tests/detect/test_fp16.py
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = float16.convert_float_to_float16(model)
    del half.graph.value_info[:]
    path = Path("/tmp/atalaia-yolo11n-fp16.onnx")
    onnx.save(half, str(path))
    return path


def model_alone(batch: int, precision: str, name: str, options: dict) -> None:
    path = default_object_model().model if precision == "float32" else fp16_model()
    if path is None:
        print(json.dumps({"what": "model", "skipped": "float16: onnxconverter-common missing"}))
        return
    so = ort.SessionOptions()
    so.log_severity_level = 3
    chain = [(ORT[name], options)] + ([] if name == "cpu" else [ORT["cpu"]])
    session = ort.InferenceSession(str(path), so, providers=chain)
    active = session.get_providers()[0]
    if active != ORT[name]:
        print(json.dumps({"what": "model", "skipped": f"{name}: not available here, the "
                          f"session fell back to {active}"}))
        return
    dtype = np.float32 if precision == "float32" else np.float16
    tensor = np.empty((batch, 3, size, size), dtype)
    for i in range(batch):
        letterbox_into(frames[i % len(frames)], tensor[i], ULTRALYTICS_PIXELS)
    image, outputs = session.get_inputs()[0].name, [o.name for o in session.get_outputs()]
    if name == "cpu":
        call = lambda: session.run(outputs, {image: tensor})  # noqa: E731
    else:  # as atalaia's session: one reused device buffer, refreshed per call; outputs to host
        device = ort.OrtValue.ortvalue_from_numpy(tensor, "cuda", 0)
        def call() -> None:
            device.update_inplace(tensor)
            binding = session.io_binding()
            binding.bind_ortvalue_input(image, device)
            for name_ in outputs:
                binding.bind_output(name_, "cpu")
            session.run_with_iobinding(binding)
            binding.copy_outputs_to_cpu()
    started = time.perf_counter()
    call()  # the first call builds TensorRT engines / cuDNN plans
    first = time.perf_counter() - started
    rate = timed(call, batch)
    print(json.dumps({"what": "model", "provider": name, "active": active, "precision": precision,
                      "batch": batch, "images_per_s": round(rate, 1),
                      "first_call_s": round(first, 2)}))


def detector(batch: int, runs: int, upload: str, prep: int | str) -> None:
    # One batch size per run's share here, so one sized session (auto would plan six at start):
    # with 2 runs each share is half the batch, and must not be padded back to the whole.
    config = OnnxDetectorConfig(providers=[provider], input_size=size, batch_max=batch,
                                concurrent_runs=runs, input_upload=upload,
                                call_batches=[batch // runs], prep_threads=prep)
    det = build_detector(config)
    chunk = [frames[i % len(frames)] for i in range(batch)]
    rate = timed(lambda: det.detect(chunk), batch)
    print(json.dumps({"what": "detector", "provider": provider, "active": det.info.providers[0],
                      "batch": batch, "concurrent_runs": runs, "io_binding": det.info.io_binding,
                      "upload": det.info.input_upload, "prep_threads": det.info.prep_threads,
                      "images_per_s": round(rate, 1)}))
    det.close()


def session(batch: int, upload: str) -> None:
    """atalaia's session alone (no letterbox, no decoding) on one batch: float32 input, or
    uint8 pixels scaled on the provider (`input_upload`); outputs back on the host."""
    chain = [(ORT[provider], {})] + ([] if provider == "cpu" else [(ORT["cpu"], {})])
    model = OnnxModel(default_object_model().model, chain, 1, 1)
    tensor = np.empty((batch, 3, size, size), np.uint8 if upload == "uint8" else np.float32)
    for i in range(batch):
        letterbox_into(frames[i % len(frames)], tensor[i], ULTRALYTICS_PIXELS)
    if upload == "uint8":
        model.take_pixels(model.pixel_upload(ULTRALYTICS_PIXELS))
    model.run(tensor)  # plans the convolutions for this shape
    rate = timed(lambda: model.run(tensor), batch)
    print(json.dumps({"what": "session", "provider": provider, "batch": batch, "upload": upload,
                      "io_binding": model.uses_io_binding, "images_per_s": round(rate, 1)}))


def shape_changes(sizes: list[int]) -> None:
    """The detector on a sequence of batch sizes, each call timed: with `call_batches` off,
    every change of size is a new input shape for the one session; with auto, each size
    runs padded on its own session, planned once at start."""
    for call_batches in ("auto", []):
        started = time.perf_counter()
        config = OnnxDetectorConfig(providers=[provider], input_size=size, batch_max=max(sizes),
                                    input_shape="square", call_batches=call_batches)
        det = build_detector(config)
        start_s = time.perf_counter() - started
        calls = []
        for count in sizes:
            t = time.perf_counter()
            det.detect([frames[0]] * count)
            calls.append([count, round((time.perf_counter() - t) * 1000, 1)])
        print(json.dumps({"what": "shapes", "provider": provider, "call_batches": call_batches,
                          "sized": list(det.info.call_batches), "start_s": round(start_s, 2),
                          "calls_ms": calls}))
        det.close()


if what == "model":
    for batch in map(int, sys.argv[5].split()):
        for precision in ("float32", "float16"):
            model_alone(batch, precision, provider, {})
elif what == "tensorrt":
    batch = int(sys.argv[5])
    shapes = f"images:{batch}x3x{size}x{size}"
    model_alone(batch, "float32", "tensorrt", {
        "trt_fp16_enable": "1", "trt_engine_cache_enable": "1",
        "trt_engine_cache_path": "/tmp/atalaia-trt", "trt_profile_min_shapes": shapes,
        "trt_profile_opt_shapes": shapes, "trt_profile_max_shapes": shapes})
elif what == "shapes":
    shape_changes([int(n) for n in sys.argv[5].split()])
elif what == "session":
    for batch in map(int, sys.argv[5].split()):
        for upload in ("float", "uint8"):
            session(batch, upload)
else:
    batch = int(sys.argv[5])
    detector(batch, 1, "float", 1)  # the CPU side on one thread, float32 across
    for runs in (1, 2):
        for prep in (1, "auto"):
            detector(batch, runs, "uint8", prep)
PY

RAW="$RESULTS/gpu-bench.jsonl"
: >"$RAW"
LAST_BATCH=${BATCHES##* }
STEPS=" ${STEPS:-model tensorrt session detector shapes pipeline} "
step() { [[ "$STEPS" == *" $1 "* ]]; }
if step model; then
    echo "== model alone ($PROVIDER, $SIZE, batches $BATCHES, ${BENCH_SECONDS}s each)"
    "$BENCH_PY" "$MODEL_PY" model "$PROVIDER" "$SIZE" "$BENCH_SECONDS" "$BATCHES" | tee -a "$RAW"
fi
if [ "$MODE" = gpu ] && step tensorrt; then
    echo "== TensorRT float16, batch $LAST_BATCH (at most ${TRT_TIMEOUT:-180}s)"
    timeout "${TRT_TIMEOUT:-180}" "$BENCH_PY" "$MODEL_PY" tensorrt tensorrt "$SIZE" \
        "$BENCH_SECONDS" "$LAST_BATCH" | tee -a "$RAW" || echo "   TensorRT: no result (timed out or failed)"
fi
if step session; then
    echo "== atalaia's session alone, float32 and uint8 input (batches $BATCHES)"
    "$BENCH_PY" "$MODEL_PY" session "$PROVIDER" "$SIZE" "$BENCH_SECONDS" "$BATCHES" | tee -a "$RAW"
fi
if step detector; then
    echo "== detector: letterbox + model + decode, batch $LAST_BATCH"
    "$BENCH_PY" "$MODEL_PY" detector "$PROVIDER" "$SIZE" "$BENCH_SECONDS" "$LAST_BATCH" | tee -a "$RAW"
fi
if step shapes; then
    echo "== detector: changing batch sizes, call_batches auto and off"
    "$BENCH_PY" "$MODEL_PY" shapes "$PROVIDER" "$SIZE" "$BENCH_SECONDS" \
        "1 2 3 5 8 13 21 $LAST_BATCH $LAST_BATCH 8 1 3" | tee -a "$RAW"
fi

# ---- 4: the pipeline at saturation, cameras from a file ---------------------------------------
# A file, not stdin: the pipeline's processes are spawned and re-import the main module.
PIPELINE_PY=$(mktemp --suffix=.py)
trap 'rm -f "$MODEL_PY" "$PIPELINE_PY"' EXIT
cat >"$PIPELINE_PY" <<'PY'
import sys

import bench.pipeline as pipeline
from atalaia.config.detectors import OnnxDetectorConfig


def main() -> int:
    provider, settings, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    extra = {"providers": [provider]}
    for item in filter(None, settings.split(",")):  # key=value: an int, else a string
        key, value = item.split("=", 1)
        extra[key] = int(value) if value.isdigit() else value
    plain = pipeline.detector_config
    # bench.pipeline has no provider option: its detectors (service, plain loop) all take
    # their config from detector_config in this process, so the provider is set there.
    pipeline.detector_config = lambda args: OnnxDetectorConfig.model_validate(
        {**plain(args).model_dump(), **extra}
    )
    return pipeline.main(argv)


if __name__ == "__main__":
    sys.exit(main())
PY
LAST_PLAIN=$(for item in $CAMERAS; do [[ "$item" == *:* ]] || echo "$item"; done | tail -1)
for item in $CAMERAS; do
    step pipeline || break
    cameras=${item%%:*} settings=""
    [[ "$item" == *:* ]] && settings=${item#*:}
    plain=--no-plain
    [ "$item" = "$LAST_PLAIN" ] && plain=--plain
    echo "== pipeline saturation: $cameras cameras, $PROVIDER, input $SIZE, ${PIPELINE_SECONDS}s ${settings}"
    "$BENCH_PY" "$PIPELINE_PY" "$PROVIDER" "$settings" --mode saturation --cameras "$cameras" \
        --input-size "$SIZE" --batch-max "$LAST_BATCH" --seconds "$PIPELINE_SECONDS" \
        --warmup 3 --no-limit "$plain" --json ${VIDEO:+--video "$VIDEO"} | grep '^{' |
        python3 -c "import json, sys; [print(json.dumps({**json.loads(l), 'settings': sys.argv[1]})) for l in sys.stdin]" "$settings" |
        tee -a "$RAW" || echo "   no result"
done

# ---- 5: the table --------------------------------------------------------------------------
"$BENCH_PY" - "$RAW" "$GPU" "$SIZE" "$PROVIDER" <<'PY' | tee "$RESULTS/gpu-bench.md"
import json, sys

import onnxruntime as ort

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
gpu, size, provider = sys.argv[2], sys.argv[3], sys.argv[4]
print(f"GPU: {gpu}; onnxruntime {ort.__version__}; YOLO11n at {size}\n")
print("| measurement | provider (active) | batch | images/s or detections/s | notes |")
print("|---|---|---|---|---|")
best = best_uint8 = 0.0
for r in rows:
    if r.get("skipped"):
        print(f"| model alone | - | - | - | {r['skipped']} |")
    elif r.get("what") == "model":
        if r["precision"] == "float32" and r["provider"] == provider:
            best = max(best, r["images_per_s"])  # what the pipeline's model can do at best
        print(f"| model alone, {r['precision']} | {r['provider']} ({r['active']}) | {r['batch']} "
              f"| {r['images_per_s']} | first call {r['first_call_s']} s |")
    elif r.get("what") == "shapes":
        calls = " ".join(f"{n}:{ms:g}" for n, ms in r["calls_ms"])
        print(f"| detector, batch sizes changing (frames:ms per call), call_batches "
              f"{r['call_batches'] or 'off'} {r['sized']} | {provider} | - | - | start (sessions "
              f"+ warm-up) {r['start_s']} s; {calls} |")
    elif r.get("what") == "session":
        if r["upload"] == "uint8":
            best_uint8 = max(best_uint8, r["images_per_s"])
        print(f"| atalaia's session alone, {r['upload']} input | {r['provider']} | {r['batch']} "
              f"| {r['images_per_s']} | I/O binding {r['io_binding']} |")
    elif r.get("what") == "detector":
        print(f"| detector (letterbox+model+decode), {r['upload']} input, "
              f"{r['concurrent_runs']} concurrent runs, {r.get('prep_threads', 1)} prep threads "
              f"| {r['provider']} ({r['active']}) | {r['batch']} | {r['images_per_s']} "
              f"| I/O binding {r['io_binding']} |")
for r in rows:
    if r.get("mode") == "saturation":
        offered = round(sum(r["fps_captured"].values()), 1)
        lat = r["latency_ms"]
        share = f"{r['detections_per_s'] / best:.2f} of the model alone" if best else "-"
        if best_uint8:
            share += f", {r['detections_per_s'] / best_uint8:.2f} of the uint8 session alone"
        calls = r.get("model_call_ms", {}).get("p50", "-")
        plain = (f"; plain loop {r['plain_loop_detections_per_s']}"
                 if "plain_loop_detections_per_s" in r else "")
        print(f"| pipeline saturation, {r['cameras']} cameras {r.get('settings') or ''} | - | "
              f"mean {r.get('mean_batch', '-')} | {r['detections_per_s']} | {share}; cameras "
              f"offered {offered} frames/s; p99 {lat.get('p99', '-')} ms; model calls p50 "
              f"{calls} ms; CPU {r['cpu_percent']} %{plain} |")
PY
echo "== written to $RESULTS"
